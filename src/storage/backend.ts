// The narrow byte store under a repository (restic's backend.Backend is the
// model). A backend knows nothing about chunks, keys or snapshots: it stores
// opaque objects under slash-separated keys such as `data/ab/ab12…`.
// Retry, fault injection and dry-run are wrappers around this interface, and
// every backend runs the same conformance suite (test/support/backend-conformance.ts).

import { LifeboatError } from "../errors.ts";

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  /** When the object was last written (ms since the epoch), where list() reports it; prune's grace period needs it. */
  readonly modifiedMs?: number;
}

/**
 * What a store guarantees beyond the contract below, and what the repository
 * does differently without it (docs/storage.md, "Capabilities").
 */
export interface BackendCapabilities {
  /** put() makes the object appear whole or not at all (temp + rename, or a single-request upload). Required. */
  readonly atomicPut: true;
  /**
   * put(..., { ifAbsent: true }) is honoured atomically by the store itself
   * (O_EXCL-style link, conditional put). Without it `ifAbsent` is a check
   * then a put, and `init` reads `config` back after writing it to catch a
   * racing init.
   */
  readonly conditionalPut: boolean;
  /**
   * A list() started after a put() returned always includes that object.
   * Without it, acquiring a lock waits before listing the other locks, so
   * two racing lockers see each other.
   */
  readonly listAfterWriteConsistent: boolean;
}

/** The store refused a write because it is read-only (a read-only mount, no write permission). */
export function isReadOnlyStorageError(error: unknown): boolean {
  if (typeof error !== "object" || error === null || !("details" in error)) return false;
  const details = (error as { details?: unknown }).details;
  return (
    typeof details === "object" && details !== null && (details as { readOnly?: unknown }).readOnly === true
  );
}

export interface CleanupOptions {
  /** Count the leftovers, remove nothing (a read-only repository). */
  readonly dryRun?: boolean;
}

/** A byte range of an object: `length` bytes from `offset` (a pack's chunk, its header). */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

export interface PutOptions {
  /** Fail with STORAGE_ERROR (details.reason = "exists") instead of replacing an existing object. */
  readonly ifAbsent?: boolean;
}

export interface Backend {
  /** Where this backend stores objects, safe to print (no credentials). */
  readonly location: string;
  readonly capabilities: BackendCapabilities;

  /**
   * Store `data` under `key`. Contract: when the returned promise resolves the
   * object is durable and readable whole; when it rejects, no object (and no
   * partial object) is visible under `key`. A store that refuses writes
   * rejects with STORAGE_ERROR and `details.readOnly = true`.
   */
  put(key: string, data: Uint8Array, options?: PutOptions): Promise<void>;

  /**
   * The object's bytes, or with `range` only those bytes. Rejects with
   * OBJECT_MISSING when there is no such object. A range reaching past the
   * object's end returns the bytes that exist (fewer than asked, possibly
   * none): the caller sees a short read and names it, as with a truncated object.
   */
  get(key: string, range?: ByteRange): Promise<Uint8Array>;

  /** Size of the object, or undefined when it does not exist. */
  stat(key: string): Promise<ObjectInfo | undefined>;

  /**
   * Every object whose key starts with `prefix` (a folder such as `data/`),
   * in no particular order. Objects being written (temp files) are never listed.
   */
  list(prefix: string): AsyncIterable<ObjectInfo>;

  /**
   * Optional: the keys list() would give, without sizes or times, for a
   * store where those cost extra (the filesystem stats every file). Callers
   * use listKeys() below, which falls back to list().
   */
  listKeys?(prefix: string): AsyncIterable<string>;

  /** Remove the object. Removing an object that does not exist is not an error. */
  delete(key: string): Promise<void>;

  /**
   * Remove leftovers of interrupted writes older than `olderThanMs` (temp
   * files); returns how many (with `dryRun`, how many there are).
   */
  cleanupInterrupted(olderThanMs: number, options?: CleanupOptions): Promise<number>;

  /** Release connections and handles. */
  close(): Promise<void>;
}

/** Names of objects still being written (temp files, probes): never part of a repository, never a valid key. */
export const TEMP_PREFIX = ".tmp-";

/**
 * The key contract every backend enforces: relative, slash-separated, with
 * no empty, "." or ".." segments and no temp-object names. A bad key is a bug
 * in Lifeboat, never user input, hence INTERNAL.
 */
export function validateKey(key: string): void {
  const segments = key.split("/");
  const bad =
    key === "" ||
    key.includes("\\") ||
    key.includes("\0") ||
    segments.some((s) => s === "" || s === "." || s === ".." || s.startsWith(TEMP_PREFIX));
  if (bad) {
    throw new LifeboatError("INTERNAL", `invalid storage key ${JSON.stringify(key)}`, { details: { key } });
  }
}

/** Every key under `prefix`: the backend's cheap key listing where it has one, else list(). */
export async function* listKeys(backend: Backend, prefix: string): AsyncIterable<string> {
  if (backend.listKeys) {
    yield* backend.listKeys(prefix);
    return;
  }
  for await (const info of backend.list(prefix)) yield info.key;
}
