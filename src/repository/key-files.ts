// Key files: the master key wrapped under a password-derived key, one file
// per password (docs/repository-format.md, "Key files"). Each file carries a
// checksum anyone can verify without a password, so a damaged key file is
// reported as KEY_DAMAGED naming it, never as a wrong password, and a sealed
// copy of `config`, from which a damaged config is recovered.

import { createHash, randomBytes } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { z } from "zod";
import type { Backend } from "../storage/backend.ts";
import { decodePayloadSync, STORED } from "./compression.ts";
import {
  deriveWrappingKey,
  masterKeyBytes,
  MASTER_KEY_BYTES,
  masterKeyFromBytes,
  unwrapMasterKey,
  wrapMasterKey,
} from "./crypto.ts";
import type { MasterKey, ScryptParams } from "./crypto.ts";
import { seal, unseal } from "./envelope.ts";
import type { Protection } from "./envelope.ts";

export const KEYS_PREFIX = "keys/";
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Bounds on scrypt parameters, checked before deriving anything: a damaged
 * (or hostile) key file asking for N = 2^40 must be refused at once, not
 * allocate terabytes or hang. The defaults (N = 2^15, r = 8) use 32 MiB.
 */
export const SCRYPT_LIMITS = { maxN: 2 ** 20, maxR: 32, maxP: 16, maxMemoryBytes: 1024 ** 3 } as const;

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);

const scryptSchema = z
  .object({
    algorithm: z.literal("scrypt"),
    N: z.number().int().min(2).max(SCRYPT_LIMITS.maxN),
    r: z.number().int().positive().max(SCRYPT_LIMITS.maxR),
    p: z.number().int().positive().max(SCRYPT_LIMITS.maxP),
    salt: base64,
  })
  .refine((kdf) => (kdf.N & (kdf.N - 1)) === 0, { message: "scrypt N must be a power of two" })
  .refine((kdf) => 128 * kdf.N * kdf.r <= SCRYPT_LIMITS.maxMemoryBytes, {
    message: `scrypt parameters need more than ${SCRYPT_LIMITS.maxMemoryBytes / 1024 ** 2} MiB`,
  });

// z.object() drops unknown fields: a v1 reader ignores fields added later.
const keyFileSchema = z.object({
  version: z.literal(1),
  repository: z.string(),
  created: z.string(),
  hostname: z.string(),
  username: z.string(),
  kdf: z.union([scryptSchema, z.object({ algorithm: z.literal("none") })]),
  wrap: z.discriminatedUnion("algorithm", [
    z.object({ algorithm: z.literal("aes-256-gcm"), nonce: base64, data: base64 }),
    z.object({ algorithm: z.literal("none"), data: base64 }),
  ]),
  /** The config's bytes sealed under the master key (an envelope, base64). Absent in older key files. */
  configCopy: base64.optional(),
  /** Hex SHA-256 of the file's canonical JSON without this field. Absent in older key files. */
  checksum: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

export type KeyFile = z.infer<typeof keyFileSchema>;

export interface StoredKey {
  readonly id: string;
  readonly file: KeyFile;
}

export interface DamagedKey {
  readonly id: string;
  /** Its storage key, keys/<id>. */
  readonly object: string;
  readonly reason: string;
}

export interface KeyListing {
  /** Intact key files of this repository, oldest first. */
  readonly keys: StoredKey[];
  /** Intact key files naming another repository id (left by an interrupted init, or the config's id is damaged). */
  readonly foreign: StoredKey[];
  /** Key files that fail their checksum or do not parse. */
  readonly damaged: DamagedKey[];
}

export function wrapAad(repositoryId: string): string {
  return `lifeboat-key-v1:${repositoryId}`;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

/** The name the config copy is sealed under (the envelope's AAD): bound to its key file, so it cannot be moved. */
function configCopyName(keyId: string): string {
  return `${KEYS_PREFIX}${keyId}#config`;
}

/** JSON with object keys sorted at every level and no whitespace: the bytes the checksum covers. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}

function checksumOf(fields: Record<string, unknown>): string {
  const { checksum: _checksum, ...rest } = fields;
  return createHash("sha256").update(canonicalJson(rest), "utf8").digest("hex");
}

/** The config bytes a key file keeps, authenticated with the master key it unwraps; undefined when it keeps none. */
export function openConfigCopy(key: StoredKey, master: MasterKey): Buffer | undefined {
  if (key.file.configCopy === undefined) return undefined;
  const protection: Protection = key.file.wrap.algorithm === "none" ? "none" : "aes-256-gcm";
  const sealedAs = configCopyName(key.id);
  const payload = unseal(sealedAs, Buffer.from(key.file.configCopy, "base64"), protection, master.encryption);
  return decodePayloadSync(sealedAs, payload, MAX_CONFIG_BYTES);
}

export interface NewKeyFile {
  readonly repositoryId: string;
  readonly master: MasterKey;
  /** null makes the plaintext key of an unencrypted repository. */
  readonly password: string | null;
  readonly params: ScryptParams;
  /** The repository's config bytes, kept sealed in the key file for recovery. */
  readonly configBytes: Uint8Array;
}

/** Write a new key file. */
export async function createKeyFile(backend: Backend, options: NewKeyFile): Promise<StoredKey> {
  const { repositoryId, master, password, params } = options;
  const identity = {
    version: 1 as const,
    repository: repositoryId,
    created: new Date().toISOString(),
    hostname: hostname(),
    username: currentUser(),
  };
  let body: Omit<KeyFile, "configCopy" | "checksum">;
  if (password === null) {
    const data = masterKeyBytes(master).toString("base64");
    body = { ...identity, kdf: { algorithm: "none" }, wrap: { algorithm: "none", data } };
  } else {
    const salt = randomBytes(32);
    const wrapped = wrapMasterKey(
      await deriveWrappingKey(password, salt, params),
      master,
      wrapAad(repositoryId),
    );
    body = {
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
  const protection: Protection = password === null ? "none" : "aes-256-gcm";
  const configCopy = seal(
    configCopyName(id),
    [Uint8Array.of(STORED), options.configBytes],
    protection,
    master.encryption,
  ).toString("base64");
  const unsigned = { ...body, configCopy };
  const file: KeyFile = { ...unsigned, checksum: checksumOf(unsigned) };
  await backend.put(KEYS_PREFIX + id, Buffer.from(JSON.stringify(file, null, 2) + "\n", "utf8"), {
    ifAbsent: true,
  });
  return { id, file };
}

/**
 * Rewrite a key file with a new sealed copy of `config` (`migrate` changes
 * the config): everything else, its id and its password, stays.
 */
export async function rewriteConfigCopy(
  backend: Backend,
  key: StoredKey,
  master: MasterKey,
  configBytes: Uint8Array,
): Promise<void> {
  const protection: Protection = key.file.wrap.algorithm === "none" ? "none" : "aes-256-gcm";
  const configCopy = seal(
    configCopyName(key.id),
    [Uint8Array.of(STORED), configBytes],
    protection,
    master.encryption,
  ).toString("base64");
  const { checksum: _checksum, ...rest } = key.file;
  const unsigned = { ...rest, configCopy };
  const file: KeyFile = { ...unsigned, checksum: checksumOf(unsigned) };
  await backend.put(KEYS_PREFIX + key.id, Buffer.from(JSON.stringify(file, null, 2) + "\n", "utf8"));
}

/** Parse and verify one key file's bytes: a StoredKey, or why it is damaged. */
export function parseKeyFile(id: string, bytes: Uint8Array): StoredKey | DamagedKey {
  const object = KEYS_PREFIX + id;
  const damaged = (reason: string): DamagedKey => ({ id, object, reason });
  if (bytes.length === 0) return damaged("key file is empty (zero bytes)");
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    return damaged("key file is not valid JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    return damaged("key file is not a JSON object");
  const recorded = (raw as { checksum?: unknown }).checksum;
  if (recorded !== undefined && recorded !== checksumOf(raw as Record<string, unknown>)) {
    return damaged("key file does not match its checksum");
  }
  const parsed = keyFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return damaged(`key file is invalid (${issue?.path.join(".") || "(root)"}: ${issue?.message})`);
  }
  return { id, file: parsed.data };
}

/** Every key file, sorted into this repository's, other repositories' and damaged ones. */
export async function listKeyFiles(backend: Backend, repositoryId: string): Promise<KeyListing> {
  const listing: KeyListing = { keys: [], foreign: [], damaged: [] };
  for await (const info of backend.list(KEYS_PREFIX)) {
    const id = info.key.slice(KEYS_PREFIX.length);
    let bytes: Uint8Array;
    try {
      bytes = await backend.get(info.key);
    } catch (error) {
      if (typeof error === "object" && error !== null && "code" in error && error.code === "OBJECT_MISSING")
        continue; // removed between list and get
      throw error;
    }
    const key = parseKeyFile(id, bytes);
    if ("reason" in key) listing.damaged.push(key);
    else if (key.file.repository === repositoryId) listing.keys.push(key);
    else listing.foreign.push(key);
  }
  const byAge = (a: StoredKey, b: StoredKey) =>
    a.file.created.localeCompare(b.file.created) || a.id.localeCompare(b.id);
  listing.keys.sort(byAge);
  listing.foreign.sort(byAge);
  listing.damaged.sort((a, b) => a.id.localeCompare(b.id));
  return listing;
}

/** The master key `key` wraps, when `password` opens it (null: the plaintext key of an unencrypted repository). */
export async function tryKey(key: StoredKey, password: string | null): Promise<MasterKey | undefined> {
  const { kdf, wrap } = key.file;
  if (password === null) {
    if (wrap.algorithm !== "none") return undefined;
    const bytes = Buffer.from(wrap.data, "base64");
    return bytes.length === MASTER_KEY_BYTES ? masterKeyFromBytes(bytes) : undefined;
  }
  if (kdf.algorithm !== "scrypt" || wrap.algorithm !== "aes-256-gcm") return undefined;
  const wrappingKey = await deriveWrappingKey(password, Buffer.from(kdf.salt, "base64"), kdf);
  const wrapped = { nonce: Buffer.from(wrap.nonce, "base64"), data: Buffer.from(wrap.data, "base64") };
  return unwrapMasterKey(wrappingKey, wrapped, wrapAad(key.file.repository));
}
