// Key files: the master key wrapped under a password-derived key, one file
// per password (docs/repository-format.md, "Key files"). Opening tries each
// key of this repository; none authenticating means a wrong password, which
// is reported as such and never as corruption.

import { randomBytes } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { z } from "zod";
import { LifeboatError } from "../errors.ts";
import type { Backend } from "../storage/backend.ts";
import {
  deriveWrappingKey,
  masterKeyBytes,
  masterKeyFromBytes,
  MASTER_KEY_BYTES,
  unwrapMasterKey,
  wrapMasterKey,
} from "./crypto.ts";
import type { MasterKey, ScryptParams } from "./crypto.ts";

export const KEYS_PREFIX = "keys/";

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);

const keyFileSchema = z.object({
  version: z.literal(1),
  repository: z.string(),
  created: z.string(),
  hostname: z.string(),
  username: z.string(),
  kdf: z.discriminatedUnion("algorithm", [
    z.object({
      algorithm: z.literal("scrypt"),
      N: z.number().int().min(2),
      r: z.number().int().positive(),
      p: z.number().int().positive(),
      salt: base64,
    }),
    z.object({ algorithm: z.literal("none") }),
  ]),
  wrap: z.discriminatedUnion("algorithm", [
    z.object({ algorithm: z.literal("aes-256-gcm"), nonce: base64, data: base64 }),
    z.object({ algorithm: z.literal("none"), data: base64 }),
  ]),
});

export type KeyFile = z.infer<typeof keyFileSchema>;

export interface StoredKey {
  readonly id: string;
  readonly file: KeyFile;
}

function wrapAad(repositoryId: string): string {
  return `lifeboat-key-v1:${repositoryId}`;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

/** Write a new key file for `master`; `password` null makes the plaintext key of an unencrypted repository. */
export async function createKeyFile(
  backend: Backend,
  repositoryId: string,
  master: MasterKey,
  password: string | null,
  params: ScryptParams,
): Promise<StoredKey> {
  const identity = {
    version: 1 as const,
    repository: repositoryId,
    created: new Date().toISOString(),
    hostname: hostname(),
    username: currentUser(),
  };
  let file: KeyFile;
  if (password === null) {
    const data = masterKeyBytes(master).toString("base64");
    file = { ...identity, kdf: { algorithm: "none" }, wrap: { algorithm: "none", data } };
  } else {
    const salt = randomBytes(32);
    const wrapped = wrapMasterKey(
      await deriveWrappingKey(password, salt, params),
      master,
      wrapAad(repositoryId),
    );
    file = {
      ...identity,
      kdf: { algorithm: "scrypt", ...params, salt: salt.toString("base64") },
      wrap: {
        algorithm: "aes-256-gcm",
        nonce: wrapped.nonce.toString("base64"),
        data: wrapped.data.toString("base64"),
      },
    };
  }
  const id = randomBytes(32).toString("hex");
  await backend.put(KEYS_PREFIX + id, Buffer.from(JSON.stringify(file, null, 2) + "\n", "utf8"), {
    ifAbsent: true,
  });
  return { id, file };
}

export interface KeyListing {
  /** Key files of this repository, readable and well-formed. */
  readonly keys: StoredKey[];
  /** Key files that could not be parsed, with why (reported, never fatal on their own). */
  readonly unreadable: { readonly id: string; readonly reason: string }[];
}

/** Key files belonging to repository `repositoryId` (leftovers of an interrupted init are ignored). */
export async function listKeyFiles(backend: Backend, repositoryId: string): Promise<KeyListing> {
  const keys: StoredKey[] = [];
  const unreadable: { id: string; reason: string }[] = [];
  for await (const info of backend.list(KEYS_PREFIX)) {
    const id = info.key.slice(KEYS_PREFIX.length);
    try {
      const raw: unknown = JSON.parse(Buffer.from(await backend.get(info.key)).toString("utf8"));
      const parsed = keyFileSchema.safeParse(raw);
      if (!parsed.success) {
        unreadable.push({ id, reason: parsed.error.issues[0]?.message ?? "invalid key file" });
      } else if (parsed.data.repository === repositoryId) {
        keys.push({ id, file: parsed.data });
      }
    } catch (error) {
      unreadable.push({ id, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  keys.sort((a, b) => a.file.created.localeCompare(b.file.created) || a.id.localeCompare(b.id));
  return { keys, unreadable };
}

export interface Unlocked {
  readonly master: MasterKey;
  readonly key: StoredKey;
}

/** Open the master key with `password` (null for an unencrypted repository). */
export async function unlockMasterKey(
  backend: Backend,
  repositoryId: string,
  password: string | null,
): Promise<Unlocked> {
  const { keys, unreadable } = await listKeyFiles(backend, repositoryId);
  if (keys.length === 0) {
    throw new LifeboatError("KEY_NOT_FOUND", `repository at ${backend.location} has no readable key file`, {
      details: { unreadable },
    });
  }
  for (const key of keys) {
    const { kdf, wrap } = key.file;
    if (password === null) {
      if (wrap.algorithm !== "none") continue;
      const bytes = Buffer.from(wrap.data, "base64");
      if (bytes.length === MASTER_KEY_BYTES) return { master: masterKeyFromBytes(bytes), key };
      continue;
    }
    if (kdf.algorithm !== "scrypt" || wrap.algorithm !== "aes-256-gcm") continue;
    const wrappingKey = await deriveWrappingKey(password, Buffer.from(kdf.salt, "base64"), kdf);
    const wrapped = { nonce: Buffer.from(wrap.nonce, "base64"), data: Buffer.from(wrap.data, "base64") };
    const master = unwrapMasterKey(wrappingKey, wrapped, wrapAad(repositoryId));
    if (master) return { master, key };
  }
  if (password === null) {
    throw new LifeboatError(
      "PASSWORD_MISSING",
      `repository at ${backend.location} is encrypted and needs a password`,
    );
  }
  throw new LifeboatError(
    "WRONG_PASSWORD",
    `no key of the repository at ${backend.location} opens with that password (${keys.length} tried)`,
    { details: { keysTried: keys.length, unreadable } },
  );
}
