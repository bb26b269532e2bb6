// A held lock: a lease that refreshes itself on an unref'd timer and tells
// its holder, through `signal`, when it has been lost (its object removed by
// another process, or refreshes failing until others may judge it stale).
// See locks.ts for the protocol.

import { LifeboatError } from "../errors.ts";
import type { Backend } from "../storage/backend.ts";
import { encodeLock } from "./lock-file.ts";
import type { Lock, LockInfo } from "./types.ts";

export class HeldLock implements Lock {
  readonly #backend: Backend;
  readonly #key: string;
  readonly #now: () => Date;
  readonly #staleAfterMs: number;
  readonly #refreshEveryMs: number;
  readonly #onLost: ((info: LockInfo) => void) | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #lost = new AbortController();
  #info: LockInfo;
  #stopped = false;
  #released = false;
  #refreshing: Promise<void> | undefined;

  constructor(
    backend: Backend,
    key: string,
    info: LockInfo,
    options: {
      refreshEveryMs: number;
      staleAfterMs: number;
      now: () => Date;
      onLost: ((info: LockInfo) => void) | undefined;
    },
  ) {
    this.#backend = backend;
    this.#key = key;
    this.#info = info;
    this.#now = options.now;
    this.#staleAfterMs = options.staleAfterMs;
    this.#refreshEveryMs = options.refreshEveryMs;
    this.#onLost = options.onLost;
    // unref: a forgotten lock must never keep the process alive.
    this.#timer = setInterval(() => void this.#refresh(), options.refreshEveryMs).unref();
  }

  get info(): LockInfo {
    return this.#info;
  }

  get signal(): AbortSignal {
    return this.#lost.signal;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#stopped = true;
    clearInterval(this.#timer);
    // Let an in-flight refresh finish first, or it could re-create the object we delete.
    await this.#refreshing;
    const removal = this.#backend.delete(this.#key);
    // A lost lock's object is gone or no longer trusted: removing it is tidying, not a result.
    await (this.#lost.signal.aborted ? removal.catch(() => {}) : removal);
  }

  #refresh(): Promise<void> {
    if (this.#stopped || this.#refreshing) return this.#refreshing ?? Promise.resolve();
    this.#refreshing = (async () => {
      try {
        if ((await this.#backend.stat(this.#key)) === undefined) {
          // Someone removed our lock: do not silently re-create it (an
          // exclusive holder may have started meanwhile); stop and tell.
          this.#lose(`lock object ${this.#key} was removed by another process`);
          return;
        }
        const next = { ...this.#info, refreshed: this.#now().toISOString() };
        await this.#backend.put(this.#key, encodeLock(next));
        this.#info = next;
      } catch (error) {
        // A transient failure: the next tick tries again, while the lease
        // lasts. Once the next tick would come too late for others not to
        // judge us stale, the lease is as good as lost.
        const age = this.#now().getTime() - Date.parse(this.#info.refreshed);
        if (age + this.#refreshEveryMs >= this.#staleAfterMs) {
          const why = error instanceof Error ? error.message : String(error);
          this.#lose(`lock ${this.#key} could not be refreshed for ${Math.round(age / 1000)}s (${why})`);
        }
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  #lose(why: string): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#lost.abort(
      new LifeboatError("LOCK_LOST", `the repository lock for "${this.#info.command}" was lost: ${why}`, {
        details: { lock: this.#info },
      }),
    );
    this.#onLost?.(this.#info);
  }
}
