// The repository's WAL namespace (docs/repository-format.md, "WAL archive"):
// one object per WAL file under wal/<source>/<system identifier>/<name>.
// The system identifier is part of the key, so a re-initialised cluster (a
// new initdb under the same source name) starts a fresh namespace instead of
// colliding with the old one's segment names, and a restore reads exactly
// the WAL of the cluster its base backup came from.
//
// An object is an envelope (sealed under its key, like every object) whose
// payload is a small JSON header (the file's name, size, SHA-256 and push
// time) followed by the file's bytes. Segments are not chunked: a segment is
// written once and read once, so one PUT per segment is the floor, and
// nothing in the index or the packs changes when WAL arrives.
//
// Stream heads (wal-stream, <segment>.head) are the one exception to
// write-once: the head of the newest segment is replaced as pg_receivewal
// flushes more of it, and deleted once the whole segment is archived.
//
// A push never replaces: the same bytes under an existing name succeed (the
// archiver retries after a crash), different bytes are refused
// (WAL_CONFLICT), which is what PostgreSQL's documentation asks of an
// archive_command.

import { createHash } from "node:crypto";
import { parseWalFileName, streamHeadName } from "../domain/wal.ts";
import { LifeboatError, isLifeboatError } from "../errors.ts";
import { listKeys, type Backend } from "../storage/backend.ts";
import { decodePayload, encodePayload } from "./compression.ts";
import { objectError, seal, unseal } from "./envelope.ts";
import type { ObjectStore } from "./object-store.ts";

export const WAL_PREFIX = "wal/";
/** The largest WAL file PostgreSQL makes (wal_segment_size is at most 1 GiB). */
const MAX_WAL_FILE_BYTES = 1024 * 1024 * 1024 + 1024 * 1024;
const HEADER_LENGTH_BYTES = 4;

export interface WalFileHeader {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  /** When the file arrived in the archive (pushing host's clock, ISO-8601). */
  readonly pushedAt: string;
  /** A stream head only: the LSN up to which its bytes are WAL the server had flushed. */
  readonly upTo?: string;
}

export interface WalPushResult {
  /** "stored": a new object; "duplicate": the same bytes were already archived. */
  readonly outcome: "stored" | "duplicate";
  readonly key: string;
  readonly storedBytes: number;
}

export function walFolder(source: string, systemId: string): string {
  return `${WAL_PREFIX}${source}/${systemId}/`;
}

export function walKey(source: string, systemId: string, name: string): string {
  return walFolder(source, systemId) + name;
}

/** The WAL archive of one cluster (source and system identifier). */
export class WalArchive {
  readonly source: string;
  readonly systemId: string;
  readonly #store: ObjectStore;

  constructor(store: ObjectStore, source: string, systemId: string) {
    if (!/^\d{1,20}$/.test(systemId)) {
      throw new LifeboatError("INTERNAL", `system identifier ${JSON.stringify(systemId)} is not a number`);
    }
    this.#store = store;
    this.source = source;
    this.systemId = systemId;
  }

  get #backend(): Backend {
    return this.#store.backend;
  }

  keyOf(name: string): string {
    return walKey(this.source, this.systemId, name);
  }

  async push(name: string, data: Buffer, now: Date = new Date()): Promise<WalPushResult> {
    const key = this.keyOf(name);
    const sha256 = createHash("sha256").update(data).digest("hex");
    const header: WalFileHeader = { name, size: data.length, sha256, pushedAt: now.toISOString() };
    const sealed = await this.#seal(key, header, data);
    try {
      await this.#backend.put(key, sealed, { ifAbsent: true });
      return { outcome: "stored", key, storedBytes: sealed.length };
    } catch (error) {
      if (!isExists(error)) throw error;
    }
    const existing = await this.read(name);
    if (existing?.header.sha256 === sha256) return { outcome: "duplicate", key, storedBytes: 0 };
    throw new LifeboatError(
      "WAL_CONFLICT",
      `${key} is already archived with different contents (${existing?.header.size ?? "?"} bytes, pushed ${existing?.header.pushedAt ?? "?"}); refusing to replace it`,
      {
        details: { object: key, name },
        hint: "Two clusters with the same system identifier archive into one source (a restored copy with archiving on?), or the file changed after it was archived. Find the other writer and stop its archive_command; never delete the archived file to make the push pass.",
      },
    );
  }

  /**
   * Store the streamed head of an unfinished segment (wal-stream), replacing
   * the previous head of that segment: a head only grows, and one PUT lands
   * whole or not at all, so a reader sees one head or the next, never a mix.
   */
  async writeHead(segment: string, data: Buffer, upTo: string, now: Date = new Date()): Promise<number> {
    const name = streamHeadName(segment);
    const key = this.keyOf(name);
    const sha256 = createHash("sha256").update(data).digest("hex");
    const header: WalFileHeader = { name, size: data.length, sha256, pushedAt: now.toISOString(), upTo };
    const sealed = await this.#seal(key, header, data);
    await this.#backend.put(key, sealed);
    return sealed.length;
  }

  /**
   * What recovery reads for `name`: the archived file, else (for a segment)
   * its stream head, whose bytes past `upTo` are zeros or not yet valid WAL,
   * where replay ends as it does at the end of a crashed server's WAL.
   */
  async readForRecovery(name: string): Promise<{ header: WalFileHeader; data: Buffer } | undefined> {
    const file = await this.read(name);
    if (file || parseWalFileName(name)?.kind !== "segment") return file;
    return this.read(streamHeadName(name));
  }

  /** The file's header and bytes, or undefined when it is not archived. */
  async read(name: string): Promise<{ header: WalFileHeader; data: Buffer } | undefined> {
    const key = this.keyOf(name);
    let stored: Uint8Array;
    try {
      stored = await this.#backend.get(key);
    } catch (error) {
      if (isLifeboatError(error, "OBJECT_MISSING")) return undefined;
      throw error;
    }
    return this.#open(key, name, stored);
  }

  /** Every archived file name, unordered. */
  async list(): Promise<string[]> {
    const folder = walFolder(this.source, this.systemId);
    const names: string[] = [];
    for await (const key of listKeys(this.#backend, folder)) names.push(key.slice(folder.length));
    return names;
  }

  async delete(name: string): Promise<void> {
    await this.#backend.delete(this.keyOf(name));
  }

  async #seal(key: string, header: WalFileHeader, data: Buffer): Promise<Buffer> {
    const json = Buffer.from(JSON.stringify(header), "utf8");
    const length = Buffer.alloc(HEADER_LENGTH_BYTES);
    length.writeUInt32BE(json.length);
    const payload = await encodePayload(Buffer.concat([length, json, data]), { sample: true });
    return seal(key, payload, this.#store.protection, this.#store.encryptionKey);
  }

  async #open(
    key: string,
    name: string,
    stored: Uint8Array,
  ): Promise<{ header: WalFileHeader; data: Buffer }> {
    const payload = unseal(key, stored, this.#store.protection, this.#store.encryptionKey);
    const plaintext = await decodePayload(key, payload, MAX_WAL_FILE_BYTES);
    const headerLength = plaintext.length >= HEADER_LENGTH_BYTES ? plaintext.readUInt32BE(0) : -1;
    if (headerLength < 2 || HEADER_LENGTH_BYTES + headerLength > plaintext.length) {
      throw objectError("CHECKSUM_MISMATCH", key, "WAL object header is malformed");
    }
    const header = JSON.parse(
      plaintext.subarray(HEADER_LENGTH_BYTES, HEADER_LENGTH_BYTES + headerLength).toString("utf8"),
    ) as WalFileHeader;
    const data = plaintext.subarray(HEADER_LENGTH_BYTES + headerLength);
    const sha256 = createHash("sha256").update(data).digest("hex");
    if (header.name !== name || header.size !== data.length || header.sha256 !== sha256) {
      throw objectError(
        "CHECKSUM_MISMATCH",
        key,
        "WAL file does not match its recorded name, size or SHA-256",
      );
    }
    return { header, data };
  }
}

function isExists(error: unknown): boolean {
  return isLifeboatError(error, "STORAGE_ERROR") && (error as LifeboatError).details?.["reason"] === "exists";
}
