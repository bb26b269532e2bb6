// A backend that misbehaves on purpose, for fault tests (ARCHITECTURE.md,
// faults 1, 2, 5 and 6). It is a real decorator: wrap any backend (memory or
// fs) and the code under test sees flaky, lying or damaging storage exactly
// where the plan says. The plan is a mutable object so a test can arm a fault
// between two steps (`faulty.plan.failNext = { get: 2 }`).
//
// Damage applies to ranged reads too (a chunk read out of a pack): an
// explicit `offset`/`length` is a position in the stored object, so a test can
// damage one chunk of a pack and leave the pack's other chunks readable.

import { LifeboatError } from "../../src/errors.ts";
import type {
  Backend,
  BackendCapabilities,
  ByteRange,
  CleanupOptions,
  ObjectInfo,
  PutOptions,
} from "../../src/storage/backend.ts";

export type StorageOperation = "put" | "get" | "stat" | "list" | "delete";

/** Which keys a fault applies to: an exact key, a pattern, or a predicate. */
export type KeyMatch = string | RegExp | ((key: string) => boolean);

/** How a `failNext` failure looks to the caller. */
export type SimulatedFailure =
  /** HTTP 503: STORAGE_ERROR, retryable. */
  | "unavailable"
  /** HTTP 429: STORAGE_ERROR, retryable, with details.retryAfterMs. */
  | "throttled"
  /** The connection dropped mid-body: a raw Node error with code ECONNRESET. */
  | "reset"
  /** HTTP 403: STORAGE_ERROR, not retryable. */
  | "forbidden";

export interface FaultPlan {
  /** Fail the next N calls of each operation (counts are consumed as calls fail). */
  failNext?: Partial<Record<StorageOperation, number>>;
  /** What those failures look like; default "unavailable". */
  failure?: SimulatedFailure;
  /**
   * get() of a matching key returns its bytes with one bit flipped at object
   * offset `offset` (default: the middle of the bytes returned). A ranged get
   * is damaged only when its bytes include `offset`; a full get of an object
   * shorter than `offset` has its last byte flipped. `times` counts the reads
   * it damaged (a ranged read it does not cover uses none).
   */
  flipByte?: { match: KeyMatch; offset?: number; times?: number };
  /**
   * get() of a matching key returns the object as if it were stored cut to
   * its first `length` bytes: a ranged get returns what of its range lies
   * before the cut, possibly nothing (default: half of the bytes returned).
   * `times` counts the reads it applied to (a ranged read wholly before the
   * cut uses none).
   */
  truncate?: { match: KeyMatch; length?: number; times?: number };
  /**
   * The first get() of each matching key returns corrupt bytes; later gets
   * return the good ones. Ranged gets count per key and range: the first read
   * of each chunk out of a pack is corrupt, its re-read is good.
   */
  corruptFirstGet?: KeyMatch;
  /** put() of a matching key fails before writing anything (an upload cut off at byte 0). */
  failPut?: { match: KeyMatch; times?: number; retryable?: boolean };
  /** list() fails once (retryably) after yielding this many objects. */
  failListAfter?: number;
  /** Every put and delete fails as on a read-only mount (STORAGE_ERROR, details.readOnly). */
  readOnly?: boolean;
  /** Claim other capabilities than the inner backend's (a store without conditional puts, ...). */
  capabilities?: Partial<Omit<BackendCapabilities, "atomicPut">>;
}

export class FaultyBackend implements Backend {
  readonly plan: FaultPlan;
  /** Calls that reached this wrapper, per operation (including failed ones): tests assert retry counts with it. */
  readonly calls: Record<StorageOperation, number> = { put: 0, get: 0, stat: 0, list: 0, delete: 0 };
  readonly #inner: Backend;
  readonly #corruptedOnce = new Set<string>();

  constructor(inner: Backend, plan: FaultPlan = {}) {
    this.#inner = inner;
    this.plan = plan;
  }

  get location(): string {
    return this.#inner.location;
  }

  get capabilities(): BackendCapabilities {
    return { ...this.#inner.capabilities, ...this.plan.capabilities };
  }

  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    this.#enter("put", key);
    if (this.plan.readOnly) throw readOnlyFailure("put", key);
    const failPut = this.plan.failPut;
    if (failPut && matches(failPut.match, key) && consume(failPut)) {
      throw new LifeboatError(
        "STORAGE_ERROR",
        `simulated upload failure for ${key}: connection closed after 0 bytes`,
        {
          details: { key, retryable: failPut.retryable ?? true, simulated: true },
        },
      );
    }
    return this.#inner.put(key, data, options);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.#enter("get", key);
    let data = await this.#inner.get(key, range);
    // Where the returned bytes start in the object: explicit fault offsets are object offsets.
    const start = range?.offset ?? 0;
    const { flipByte, truncate, corruptFirstGet } = this.plan;
    const readId = range === undefined ? key : `${key}@${range.offset}+${range.length}`;
    if (corruptFirstGet && matches(corruptFirstGet, key) && !this.#corruptedOnce.has(readId)) {
      this.#corruptedOnce.add(readId);
      data = flip(data, Math.floor(data.length / 2));
    }
    if (flipByte && matches(flipByte.match, key) && data.length > 0) {
      const at = flipByte.offset === undefined ? Math.floor(data.length / 2) : flipByte.offset - start;
      // A full read always shows the flip (clamped into the object); a ranged read only if it covers it.
      const covered = range === undefined || (at >= 0 && at < data.length);
      if (covered && consume(flipByte)) data = flip(data, at);
    }
    if (truncate && matches(truncate.match, key)) {
      const keep =
        truncate.length === undefined ? Math.floor(data.length / 2) : Math.max(0, truncate.length - start);
      const affected = range === undefined || keep < data.length;
      if (affected && consume(truncate)) data = data.slice(0, keep);
    }
    return data;
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    this.#enter("stat", key);
    return this.#inner.stat(key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.#enter("list", prefix);
    let yielded = 0;
    for await (const info of this.#inner.list(prefix)) {
      if (this.plan.failListAfter !== undefined && yielded === this.plan.failListAfter) {
        this.plan.failListAfter = undefined;
        throw failure("reset", "list", prefix);
      }
      yielded++;
      yield info;
    }
  }

  async delete(key: string): Promise<void> {
    this.#enter("delete", key);
    if (this.plan.readOnly) throw readOnlyFailure("delete", key);
    return this.#inner.delete(key);
  }

  cleanupInterrupted(olderThanMs: number, options?: CleanupOptions): Promise<number> {
    if (this.plan.readOnly && !options?.dryRun) throw readOnlyFailure("cleanup", "(temp files)");
    return this.#inner.cleanupInterrupted(olderThanMs, options);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** Count the call and throw the planned failure if one is armed for this operation. */
  #enter(operation: StorageOperation, key: string): void {
    this.calls[operation]++;
    const remaining = this.plan.failNext?.[operation] ?? 0;
    if (remaining > 0) {
      this.plan.failNext![operation] = remaining - 1;
      throw failure(this.plan.failure ?? "unavailable", operation, key);
    }
  }
}

function failure(kind: SimulatedFailure, operation: StorageOperation, key: string): Error {
  const where = `${operation} ${key}`;
  switch (kind) {
    case "unavailable":
      return new LifeboatError("STORAGE_ERROR", `${where}: HTTP 503 Service Unavailable (simulated)`, {
        details: { key, status: 503, retryable: true, simulated: true },
      });
    case "throttled":
      return new LifeboatError("STORAGE_ERROR", `${where}: HTTP 429 Too Many Requests (simulated)`, {
        details: { key, status: 429, retryable: true, retryAfterMs: 1000, simulated: true },
      });
    case "forbidden":
      return new LifeboatError("STORAGE_ERROR", `${where}: HTTP 403 Forbidden (simulated)`, {
        details: { key, status: 403, retryable: false, simulated: true },
      });
    case "reset":
      return Object.assign(new Error(`${where}: read ECONNRESET (simulated)`), { code: "ECONNRESET" });
  }
}

function readOnlyFailure(operation: string, key: string): LifeboatError {
  return new LifeboatError("STORAGE_ERROR", `${operation} ${key} failed: EROFS (simulated read-only store)`, {
    details: { key, errno: "EROFS", retryable: false, readOnly: true, simulated: true },
  });
}

function matches(match: KeyMatch, key: string): boolean {
  if (typeof match === "string") return match === key;
  if (match instanceof RegExp) return match.test(key);
  return match(key);
}

/** Use up one of a fault's `times` (unlimited when absent); false once it is spent. */
function consume(fault: { times?: number }): boolean {
  if (fault.times === undefined) return true;
  if (fault.times <= 0) return false;
  fault.times--;
  return true;
}

function flip(data: Uint8Array, offset: number): Uint8Array {
  if (data.length === 0) return data;
  const copy = Uint8Array.from(data);
  const at = Math.min(Math.max(offset, 0), copy.length - 1);
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}
