// Key material of a repository: the random master key, the ids derived from
// it, and the password-based wrapping of key files. docs/repository-format.md
// ("Key files", "Chunks") specifies every byte produced here.

import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, scrypt } from "node:crypto";

/** The repository's secret: never changes, never stored unwrapped in an encrypted repository. */
export interface MasterKey {
  /** AES-256-GCM key for envelopes. */
  readonly encryption: Buffer;
  /** HMAC-SHA-256 key for chunk ids; also seeds the chunker's gear table. */
  readonly mac: Buffer;
}

export const MASTER_KEY_BYTES = 64;

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

export function generateMasterKey(): MasterKey {
  return masterKeyFromBytes(randomBytes(MASTER_KEY_BYTES));
}

export function masterKeyFromBytes(bytes: Uint8Array): MasterKey {
  if (bytes.length !== MASTER_KEY_BYTES) throw new RangeError(`master key must be ${MASTER_KEY_BYTES} bytes`);
  const copy = Buffer.from(bytes);
  return { encryption: copy.subarray(0, 32), mac: copy.subarray(32, 64) };
}

export function masterKeyBytes(key: MasterKey): Buffer {
  return Buffer.concat([key.encryption, key.mac]);
}

/** Chunk id: keyed, so the id of a well-known file does not reveal that a repository holds it. */
export function chunkIdOf(key: MasterKey, plaintext: Uint8Array): string {
  return createHmac("sha256", key.mac).update(plaintext).digest("hex");
}

/**
 * The chunker's gear table, derived from the MAC key so chunk boundaries
 * (and thus stored sizes) differ between repositories. HKDF's extract step
 * keys HMAC with the salt, not the MAC key, so no chunk id can equal it.
 */
export function gearTableOf(key: MasterKey): Uint32Array {
  const bytes = Buffer.from(hkdfSync("sha256", key.mac, Buffer.alloc(0), "lifeboat-gear-v1", 1024));
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) table[i] = bytes.readUInt32LE(i * 4);
  return table;
}

export function deriveWrappingKey(password: string, salt: Uint8Array, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Node's default maxmem (32 MiB) is exactly scrypt's need at N=2^15, r=8: leave headroom.
    const maxmem = 256 * params.N * params.r + 1024 * 1024;
    scrypt(password.normalize("NFC"), salt, 32, { ...params, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

export interface Wrapped {
  readonly nonce: Buffer;
  /** Ciphertext followed by the 16-byte GCM tag. */
  readonly data: Buffer;
}

export function wrapMasterKey(wrappingKey: Buffer, master: MasterKey, aad: string): Wrapped {
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", wrappingKey, nonce);
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const data = Buffer.concat([cipher.update(masterKeyBytes(master)), cipher.final(), cipher.getAuthTag()]);
  return { nonce, data };
}

/** The master key, or undefined when the wrapping key (the password) is not the right one. */
export function unwrapMasterKey(wrappingKey: Buffer, wrapped: Wrapped, aad: string): MasterKey | undefined {
  if (wrapped.data.length !== MASTER_KEY_BYTES + 16 || wrapped.nonce.length !== 12) return undefined;
  const decipher = createDecipheriv("aes-256-gcm", wrappingKey, wrapped.nonce);
  decipher.setAAD(Buffer.from(aad, "utf8"));
  decipher.setAuthTag(wrapped.data.subarray(MASTER_KEY_BYTES));
  try {
    return masterKeyFromBytes(
      Buffer.concat([decipher.update(wrapped.data.subarray(0, MASTER_KEY_BYTES)), decipher.final()]),
    );
  } catch {
    return undefined;
  }
}
