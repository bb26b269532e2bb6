// The `config` object: plaintext JSON naming the format version
// (docs/repository-format.md, "config"). The version is checked before any
// other field, so a future format may change everything else.

import { z } from "zod";
import type { Backend } from "../storage/backend.ts";
import { isLifeboatError, LifeboatError } from "../errors.ts";
import { validateChunkerSizes } from "./chunker.ts";
import { MAX_PACK_SIZE, MIN_PACK_SIZE } from "./pack-destination.ts";
import { FORMAT_VERSION } from "./types.ts";
import type { RepositoryConfigFile } from "./types.ts";

export const CONFIG_KEY = "config";

const configSchema = z.object({
  version: z.number().int().positive(),
  id: z.string().regex(/^[0-9a-f]{64}$/),
  created: z.string(),
  encryption: z.enum(["aes-256-gcm", "none"]),
  chunker: z
    .object({
      algorithm: z.literal("fastcdc"),
      min: z.number().int(),
      avg: z.number().int(),
      max: z.number().int(),
    })
    .refine((sizes) => validateChunkerSizes(sizes) === undefined, { message: "invalid chunker sizes" }),
  compression: z.literal("zstd"),
  packSize: z.number().int().min(MIN_PACK_SIZE).max(MAX_PACK_SIZE).optional(),
});

export function encodeConfig(config: RepositoryConfigFile): Buffer {
  return Buffer.from(JSON.stringify(config, null, 2) + "\n", "utf8");
}

export function tooNew(object: string, version: number, supported = FORMAT_VERSION): LifeboatError {
  return new LifeboatError(
    "REPOSITORY_FORMAT_TOO_NEW",
    `${object} has format version ${version}; this Lifeboat reads up to version ${supported}`,
    { details: { object, version, supported } },
  );
}

/** `config` is damaged: its own error, so it is never mistaken for a missing repository or a wrong password. */
export function configDamaged(
  location: string,
  reason: string,
  details: Record<string, unknown> = {},
): LifeboatError {
  return new LifeboatError(
    "REPOSITORY_CONFIG_DAMAGED",
    `the config of the repository at ${location} is damaged: ${reason}`,
    {
      details: { object: CONFIG_KEY, location, reason, ...details },
    },
  );
}

/** Parse config bytes; anything that is not a valid config of a known version is REPOSITORY_CONFIG_DAMAGED. */
export function parseConfig(bytes: Uint8Array, location: string): RepositoryConfigFile {
  if (bytes.length === 0) throw configDamaged(location, "config is empty (zero bytes)");
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw configDamaged(location, "config is not valid JSON");
  }
  const version = (raw as { version?: unknown } | null)?.version;
  if (typeof version === "number" && version > FORMAT_VERSION) throw tooNew(CONFIG_KEY, version);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const fields = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
    throw configDamaged(
      location,
      `config does not match the version ${version === 1 ? 1 : FORMAT_VERSION} schema (${fields.join("; ")})`,
    );
  }
  return parsed.data;
}

export interface StoredConfig {
  readonly config: RepositoryConfigFile;
  /** The exact bytes stored, compared with the copies the key files keep. */
  readonly bytes: Uint8Array;
}

/** The config and its bytes; REPOSITORY_NOT_FOUND when there is none, REPOSITORY_CONFIG_DAMAGED when it is unreadable. */
export async function readConfig(backend: Backend): Promise<StoredConfig> {
  let bytes: Uint8Array;
  try {
    bytes = await backend.get(CONFIG_KEY);
  } catch (error) {
    if (isLifeboatError(error, "OBJECT_MISSING")) {
      throw new LifeboatError(
        "REPOSITORY_NOT_FOUND",
        `no Lifeboat repository at ${backend.location} (no config)`,
        {
          details: { location: backend.location },
        },
      );
    }
    throw error;
  }
  return { config: parseConfig(bytes, backend.location), bytes };
}
