// Retries transient storage failures with exponential backoff and jitter
// (restic's RetryBackend is the model). Retry is a wrapper, not a feature of
// each backend, so every backend gets the same policy and the same tests.
//
// What is retried: a STORAGE_ERROR whose details.retryable is true (a backend
// saw a 5xx, a 429, a timeout), or a raw Node network error (ECONNRESET, ...).
// What is never retried: OBJECT_MISSING, "exists" refusals, any other error.
// Retrying those would only hide the truth for longer.

import { LifeboatError, isLifeboatError } from "../errors.ts";
import type {
  Backend,
  BackendCapabilities,
  ByteRange,
  CleanupOptions,
  ObjectInfo,
  PutOptions,
} from "./backend.ts";
import { listKeys } from "./backend.ts";
import { describeRange } from "./byte-range.ts";

export interface RetryOptions {
  /** Retries after the first attempt; attempts = retries + 1. */
  readonly retries?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Injected in tests so backoff costs no wall time. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** 0 <= random() < 1; injected in tests for deterministic jitter. */
  readonly random?: () => number;
  /** Called before each retry, e.g. to log "get data/ab..: 503, retrying in 400 ms". */
  readonly onRetry?: (event: { operation: string; attempt: number; delayMs: number; error: unknown }) => void;
}

const NETWORK_ERRNOS = new Set([
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

export function isRetryable(error: unknown): boolean {
  if (error instanceof LifeboatError)
    return error.code === "STORAGE_ERROR" && error.details.retryable === true;
  if (typeof error === "object" && error !== null && "code" in error) {
    return typeof error.code === "string" && NETWORK_ERRNOS.has(error.code);
  }
  return false;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class RetryingBackend implements Backend {
  readonly #inner: Backend;
  readonly #retries: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #onRetry: RetryOptions["onRetry"];

  constructor(inner: Backend, options: RetryOptions = {}) {
    this.#inner = inner;
    this.#retries = options.retries ?? 5;
    this.#baseDelayMs = options.baseDelayMs ?? 100;
    this.#maxDelayMs = options.maxDelayMs ?? 5000;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
    this.#onRetry = options.onRetry;
  }

  get location(): string {
    return this.#inner.location;
  }

  get capabilities(): BackendCapabilities {
    return this.#inner.capabilities;
  }

  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    let attempt = 0;
    await this.#retry(`put ${key}`, async () => {
      attempt++;
      try {
        await this.#inner.put(key, data, options);
      } catch (error) {
        // A conditional put whose earlier attempt landed but whose reply was
        // lost now sees "exists". If the stored bytes are ours, it succeeded.
        const exists = isLifeboatError(error, "STORAGE_ERROR") && error.details.reason === "exists";
        if (exists && attempt > 1 && (await this.#holds(key, data))) return;
        throw error;
      }
    });
  }

  /** A ranged get is retried like a full one: the same range again, never the whole object instead. */
  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const operation = range === undefined ? `get ${key}` : `get ${key} (${describeRange(range)})`;
    return this.#retry(operation, () => this.#inner.get(key, range));
  }

  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.#retry(`stat ${key}`, () => this.#inner.stat(key));
  }

  /** A listing that fails midway restarts; keys already yielded are not yielded twice. */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const seen = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      try {
        for await (const info of this.#inner.list(prefix)) {
          if (seen.has(info.key)) continue;
          seen.add(info.key);
          yield info;
        }
        return;
      } catch (error) {
        await this.#backoffOrThrow(`list ${prefix || "(all)"}`, attempt, error);
      }
    }
  }

  /** As list(): a listing that fails midway restarts, without yielding a key twice. */
  async *listKeys(prefix: string): AsyncIterable<string> {
    const seen = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      try {
        for await (const key of listKeys(this.#inner, prefix)) {
          if (seen.has(key)) continue;
          seen.add(key);
          yield key;
        }
        return;
      } catch (error) {
        await this.#backoffOrThrow(`list ${prefix || "(all)"}`, attempt, error);
      }
    }
  }

  delete(key: string): Promise<void> {
    return this.#retry(`delete ${key}`, () => this.#inner.delete(key));
  }

  cleanupInterrupted(olderThanMs: number, options?: CleanupOptions): Promise<number> {
    return this.#retry("cleanup", () => this.#inner.cleanupInterrupted(olderThanMs, options));
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async #retry<T>(operation: string, run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        await this.#backoffOrThrow(operation, attempt, error);
      }
    }
  }

  /** Sleep before the next attempt, or throw: the error itself if not retryable, a summary if exhausted. */
  async #backoffOrThrow(operation: string, attempt: number, error: unknown): Promise<void> {
    if (!isRetryable(error)) throw error;
    if (attempt > this.#retries) {
      const reason = error instanceof Error ? error.message : String(error);
      const details = error instanceof LifeboatError ? error.details : {};
      throw new LifeboatError(
        "STORAGE_ERROR",
        `${operation} failed after ${attempt} attempts (${this.#retries} retries): ${reason}`,
        // retryable: false so an outer retry layer does not multiply the attempts.
        { cause: error, details: { ...details, attempts: attempt, retryable: false } },
      );
    }
    const delayMs = this.#delayFor(attempt, error);
    this.#onRetry?.({ operation, attempt, delayMs, error });
    await this.#sleep(delayMs);
  }

  #delayFor(attempt: number, error: unknown): number {
    const ceiling = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
    // "Equal jitter": never zero (so a hot loop is impossible), never in lockstep with other clients.
    let delay = ceiling / 2 + (this.#random() * ceiling) / 2;
    // A throttling store may say how long to wait (Retry-After); honour it within maxDelayMs.
    const retryAfter = error instanceof LifeboatError ? error.details.retryAfterMs : undefined;
    if (typeof retryAfter === "number") delay = Math.max(delay, Math.min(retryAfter, this.#maxDelayMs));
    return Math.round(delay);
  }

  async #holds(key: string, data: Uint8Array): Promise<boolean> {
    try {
      return Buffer.from(await this.#inner.get(key)).equals(Buffer.from(data));
    } catch {
      return false;
    }
  }
}
