// The envelope around every chunk and manifest (docs/repository-format.md,
// "Envelope"): a small self-checking header, then AES-256-GCM (or, in an
// unencrypted repository, the payload and a SHA-256). The storage key is
// authenticated too, so an object moved to another name does not verify.
// Truncation is told apart from corruption by the length in the header.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { LifeboatError } from "../errors.ts";
import type { ErrorCode } from "../errors.ts";
import { discard } from "./buffers.ts";

export type Protection = "aes-256-gcm" | "none";

const MAGIC = Buffer.from("LBOX", "ascii");
const ENVELOPE_VERSION = 1;
/** magic(4) version(1) protection(1) payload length(4) header check(4). */
export const HEADER_BYTES = 14;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HASH_BYTES = 32;

export function objectError(
  code: ErrorCode,
  object: string,
  message: string,
  cause?: unknown,
): LifeboatError {
  return new LifeboatError(code, `${object}: ${message}`, { details: { object }, cause });
}

/** Bytes an envelope adds around a payload. */
export function envelopeOverhead(protection: Protection): number {
  return HEADER_BYTES + (protection === "none" ? HASH_BYTES : NONCE_BYTES + TAG_BYTES);
}

function header(protection: Protection, payloadLength: number): Buffer {
  const head = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(head, 0);
  head[4] = ENVELOPE_VERSION;
  head[5] = protection === "none" ? 0 : 1;
  head.writeUInt32BE(payloadLength, 6);
  createHash("sha256").update(head.subarray(0, 10)).digest().copy(head, 10, 0, 4);
  return head;
}

function aadOf(head: Buffer, objectKey: string): Buffer {
  return Buffer.concat([head, Buffer.from(objectKey, "utf8")]);
}

/**
 * Seal `parts` (the payload: compression byte, then data) as the object
 * stored under `objectKey`. Parts avoid concatenating a 4 MiB chunk just to
 * prepend one byte.
 */
export function seal(
  objectKey: string,
  parts: readonly Uint8Array[],
  protection: Protection,
  key: Buffer,
): Buffer {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const head = header(protection, length);
  if (protection === "none") {
    const hash = createHash("sha256").update(aadOf(head, objectKey));
    for (const part of parts) hash.update(part);
    return Buffer.concat([head, ...parts, hash.digest()]);
  }
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(aadOf(head, objectKey));
  const encrypted = parts.map((part) => cipher.update(part));
  const sealed = Buffer.concat([head, nonce, ...encrypted, cipher.final(), cipher.getAuthTag()]);
  for (const piece of encrypted) discard(piece); // ours alone, and copied: free it now, not at the next GC
  return sealed;
}

/** The authenticated payload of the object stored under `objectKey`, or a LifeboatError naming it. */
export function unseal(objectKey: string, stored: Uint8Array, protection: Protection, key: Buffer): Buffer {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (bytes.length < HEADER_BYTES) {
    throw objectError(
      "OBJECT_TRUNCATED",
      objectKey,
      `object is ${bytes.length} bytes, shorter than the ${HEADER_BYTES}-byte envelope header`,
    );
  }
  const head = bytes.subarray(0, HEADER_BYTES);
  const corrupt = (why: string) => objectError("CHECKSUM_MISMATCH", objectKey, why);
  if (!head.subarray(0, 4).equals(MAGIC)) throw corrupt("not a Lifeboat object (bad magic)");
  const check = createHash("sha256").update(head.subarray(0, 10)).digest().subarray(0, 4);
  if (!check.equals(head.subarray(10, 14))) throw corrupt("envelope header is damaged");
  if (head[4] !== ENVELOPE_VERSION) throw corrupt(`unknown envelope version ${head[4]}`);
  const found: Protection | undefined = head[5] === 0 ? "none" : head[5] === 1 ? "aes-256-gcm" : undefined;
  if (found !== protection) {
    throw corrupt(`object protection ${found ?? head[5]} differs from the repository's ${protection}`);
  }
  const length = head.readUInt32BE(6);
  const expected = length + envelopeOverhead(protection);
  if (bytes.length < expected) {
    throw objectError(
      "OBJECT_TRUNCATED",
      objectKey,
      `object is ${bytes.length} bytes but its envelope records ${expected} (cut short)`,
    );
  }
  if (bytes.length > expected)
    throw corrupt(`object is ${bytes.length} bytes but its envelope records ${expected}`);

  const aad = aadOf(head, objectKey);
  if (protection === "none") {
    const payload = bytes.subarray(HEADER_BYTES, HEADER_BYTES + length);
    const digest = createHash("sha256").update(aad).update(payload).digest();
    if (!digest.equals(bytes.subarray(HEADER_BYTES + length)))
      throw corrupt("SHA-256 does not match its content");
    return payload;
  }
  const nonce = bytes.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
  const body = bytes.subarray(HEADER_BYTES + NONCE_BYTES, HEADER_BYTES + NONCE_BYTES + length);
  const decipher = createDecipheriv("aes-256-gcm", key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(bytes.subarray(HEADER_BYTES + NONCE_BYTES + length));
  try {
    const plaintext = decipher.update(body);
    decipher.final(); // GCM yields no bytes here, only the tag check
    return plaintext;
  } catch (error) {
    throw objectError(
      "CHECKSUM_MISMATCH",
      objectKey,
      "authentication failed (damaged or moved object)",
      error,
    );
  }
}
