// The `config` object: plaintext JSON naming the format version
// (docs/repository-format.md, "config"). The version is checked before any
// other field, so a future format may change everything else.

import { z } from "zod";
import type { Backend } from "../storage/backend.ts";
import { isLifeboatError, LifeboatError } from "../errors.ts";
import { validateChunkerSizes } from "./chunker.ts";
import { objectError } from "./envelope.ts";
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
});

export function encodeConfig(config: RepositoryConfigFile): Buffer {
  return Buffer.from(JSON.stringify(config, null, 2) + "\n", "utf8");
}

export function tooNew(object: string, version: number): LifeboatError {
  return new LifeboatError(
    "REPOSITORY_FORMAT_TOO_NEW",
    `${object} has format version ${version}; this Lifeboat reads up to version ${FORMAT_VERSION}`,
    { details: { object, version, supported: FORMAT_VERSION } },
  );
}

export async function readConfig(backend: Backend): Promise<RepositoryConfigFile> {
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
  if (bytes.length === 0) throw objectError("OBJECT_TRUNCATED", CONFIG_KEY, "config is empty");
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (error) {
    throw objectError("CHECKSUM_MISMATCH", CONFIG_KEY, "config is not valid JSON", error);
  }
  const version = (raw as { version?: unknown } | null)?.version;
  if (typeof version === "number" && version > FORMAT_VERSION) throw tooNew(CONFIG_KEY, version);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const fields = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
    throw objectError("CHECKSUM_MISMATCH", CONFIG_KEY, `config is invalid (${fields.join("; ")})`);
  }
  return parsed.data;
}
