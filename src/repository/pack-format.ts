// Pack files of repository format 2 (docs/repository-format.md, "Packs"):
// chunk envelopes one after another, then an encrypted header listing them,
// then the header's length. The header makes every pack self-describing, so
// the index can be rebuilt from the packs alone (restic's design); the pack's
// name is the SHA-256 of all its bytes, so it verifies by name like everything else.

import { createHash } from "node:crypto";
import { z } from "zod";
import { decodePayloadSync, encodePayloadSync } from "./compression.ts";
import { discard } from "./buffers.ts";
import { objectError, seal, unseal } from "./envelope.ts";
import type { Protection } from "./envelope.ts";
import { idOfKey, packKey } from "./layout.ts";

/** Bytes at the end of a pack giving the header envelope's length (big-endian). */
export const PACK_TRAILER_BYTES = 4;
/** Room for the header of a full pack (about 150 bytes per chunk) without another doubling. */
const HEADER_SLACK = 1024 * 1024;
/** The name the header envelope is sealed under (its AAD). */
const HEADER_AAD = "pack-header";
/** A header of a full pack is a few hundred KiB; this bounds what a damaged length makes us read. */
export const MAX_PACK_HEADER_BYTES = 16 * 1024 * 1024;

/** One chunk's place in a pack: offset and length of its envelope, and its plaintext length. */
export interface PackEntry {
  readonly id: string;
  readonly offset: number;
  readonly length: number;
  readonly plainLength: number;
}

export const packEntrySchema = z.object({
  id: z.string().regex(/^[0-9a-f]{64}$/),
  offset: z.number().int().nonnegative(),
  length: z.number().int().positive(),
  plainLength: z.number().int().nonnegative(),
});

const headerSchema = z.object({ version: z.literal(1), chunks: z.array(packEntrySchema) });

/** The name a chunk envelope inside a pack is sealed under: its id, not a storage key, so repacking copies it unchanged. */
export function chunkAad(id: string): string {
  return `chunk:${id}`;
}

export interface FinishedPack {
  readonly id: string;
  readonly key: string;
  readonly bytes: Buffer;
  readonly entries: readonly PackEntry[];
}

/**
 * Collects chunk envelopes into one pack. The bytes go into one growing
 * buffer and are hashed as they arrive, so finishing a pack copies nothing
 * but the header.
 */
export class PackBuilder {
  readonly #protection: Protection;
  readonly #key: Buffer;
  readonly #hash = createHash("sha256");
  readonly #entries: PackEntry[] = [];
  readonly #ids = new Set<string>();
  readonly #limit: number;
  #buffer: Buffer;
  #size = 0;

  /**
   * For a pack filled to `packSize` (then shipped) with envelopes of at most
   * `maxEnvelope` bytes. The buffer is allocated at the largest size such a
   * pack can need, once: growing it by doubling held the old and the new
   * buffer at once (and 32 MiB more for the last chunk). Its pages become
   * resident only as they are written, so a small backup does not pay for a
   * whole pack.
   */
  constructor(protection: Protection, encryptionKey: Buffer, packSize: number, maxEnvelope: number) {
    this.#protection = protection;
    this.#key = encryptionKey;
    this.#limit = packSize + maxEnvelope + HEADER_SLACK;
    this.#buffer = Buffer.allocUnsafeSlow(this.#limit);
  }

  /** Bytes of chunk envelopes added so far. */
  get size(): number {
    return this.#size;
  }

  get count(): number {
    return this.#entries.length;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Append one sealed chunk envelope (copied: the caller may free it). */
  add(id: string, envelope: Uint8Array, plainLength: number): void {
    this.#reserve(envelope.length);
    this.#buffer.set(envelope, this.#size);
    this.#hash.update(envelope);
    this.#entries.push({ id, offset: this.#size, length: envelope.length, plainLength });
    this.#ids.add(id);
    this.#size += envelope.length;
  }

  /** Seal the header and return the whole pack, named by its hash. The builder is done with. */
  finish(): FinishedPack {
    const header = Buffer.from(JSON.stringify({ version: 1, chunks: this.#entries }), "utf8");
    const sealed = seal(
      HEADER_AAD,
      encodePayloadSync(header, { sample: false }),
      this.#protection,
      this.#key,
    );
    const trailer = Buffer.alloc(PACK_TRAILER_BYTES);
    trailer.writeUInt32BE(sealed.length);
    this.#reserve(sealed.length + trailer.length);
    this.#buffer.set(sealed, this.#size);
    this.#buffer.set(trailer, this.#size + sealed.length);
    this.#hash.update(sealed).update(trailer);
    const bytes = this.#buffer.subarray(0, this.#size + sealed.length + trailer.length);
    const id = this.#hash.digest("hex");
    return { id, key: packKey(id), bytes, entries: this.#entries };
  }

  #reserve(more: number): void {
    if (this.#size + more <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(
      Math.max(this.#size + more, Math.min(this.#buffer.length * 2, this.#limit)),
    );
    this.#buffer.copy(grown, 0, 0, this.#size);
    discard(this.#buffer);
    this.#buffer = grown;
  }
}

/** The header envelope's length from a pack's last bytes; `key` names the pack in errors. */
export function headerLengthOf(key: string, trailer: Uint8Array, packSize: number): number {
  if (trailer.length < PACK_TRAILER_BYTES || packSize < PACK_TRAILER_BYTES) {
    throw objectError("OBJECT_TRUNCATED", key, `pack is ${packSize} bytes, too short to hold a header`);
  }
  const length = Buffer.from(trailer.buffer, trailer.byteOffset, trailer.byteLength).readUInt32BE(
    trailer.length - PACK_TRAILER_BYTES,
  );
  if (length === 0 || length > MAX_PACK_HEADER_BYTES || length > packSize - PACK_TRAILER_BYTES) {
    throw objectError(
      "CHECKSUM_MISMATCH",
      key,
      `pack trailer records a ${length}-byte header in a ${packSize}-byte pack (damaged pack)`,
    );
  }
  return length;
}

/** Authenticate and parse a pack's header envelope; every entry must lie before the header. */
export function parsePackHeader(
  key: string,
  sealed: Uint8Array,
  headerOffset: number,
  protection: Protection,
  encryptionKey: Buffer,
): PackEntry[] {
  let payload: Buffer;
  try {
    payload = unseal(HEADER_AAD, sealed, protection, encryptionKey);
  } catch (error) {
    const why = error instanceof Error ? error.message.replace(`${HEADER_AAD}: `, "") : String(error);
    throw objectError("CHECKSUM_MISMATCH", key, `pack header: ${why}`, error);
  }
  const json = decodePayloadSync(key, payload, MAX_PACK_HEADER_BYTES * 8);
  let raw: unknown;
  try {
    raw = JSON.parse(json.toString("utf8"));
  } catch (error) {
    throw objectError("CHECKSUM_MISMATCH", key, "pack header is not valid JSON", error);
  }
  const parsed = headerSchema.safeParse(raw);
  if (!parsed.success) throw objectError("CHECKSUM_MISMATCH", key, "pack header does not match its schema");
  for (const entry of parsed.data.chunks) {
    if (entry.offset + entry.length > headerOffset) {
      throw objectError("CHECKSUM_MISMATCH", key, `pack header places chunk ${entry.id} past the header`);
    }
  }
  return parsed.data.chunks;
}

/** Verify a whole pack against its name and return its header's entries. */
export function readWholePack(
  key: string,
  bytes: Uint8Array,
  protection: Protection,
  encryptionKey: Buffer,
): PackEntry[] {
  const digest = createHash("sha256").update(bytes).digest("hex");
  if (digest !== idOfKey(key)) {
    throw objectError("CHECKSUM_MISMATCH", key, `pack hashes to ${digest}, not to its name`);
  }
  const headerLength = headerLengthOf(key, bytes, bytes.length);
  const headerOffset = bytes.length - PACK_TRAILER_BYTES - headerLength;
  const sealed = bytes.subarray(headerOffset, bytes.length - PACK_TRAILER_BYTES);
  return parsePackHeader(key, sealed, headerOffset, protection, encryptionKey);
}
