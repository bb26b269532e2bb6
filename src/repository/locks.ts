// Repository locks with leases (restic's internal/restic/lock.go is the model).
//
// A lock is a small plaintext JSON object at `locks/<random id>`: kind,
// hostname, pid, command name, created and refreshed times. It holds no
// secrets (callers pass the command's name, never its arguments), so it is
// readable without the password and `lifeboat locks` can always say who holds
// the repository.
//
// Protocol (race-safe without any compare-and-swap on a shared object):
//   1. write our own lock object;
//   2. list every lock;
//   3. if a live lock conflicts with ours, delete ours and fail naming it.
// Two processes racing may both see each other and both back off; that is the
// price of never letting both through. Shared locks coexist; an exclusive lock
// conflicts with every other lock.
//
// A lock is stale, and ignored and removed, when it was not refreshed for
// staleAfterMs, or when it was taken on this host by a process that is gone
// (kill -9, power loss). A held lock refreshes itself on an unref'd timer so
// a long backup is never mistaken for a dead one.
//
// A lease can be lost: someone removes the object (`unlock --remove-all`, or
// judging it stale), or refreshes fail until others may judge it stale. The
// holder is then no longer protected from a prune, so the lock's `signal`
// aborts with LOCK_LOST and the operation stops instead of carrying on.

import { randomBytes } from "node:crypto";
import { hostname as osHostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { LifeboatError, isLifeboatError } from "../errors.ts";
import type { Backend } from "../storage/backend.ts";
import type { Lock, LockInfo, LockKind } from "./types.ts";

export const LOCKS_PREFIX = "locks/";
/** A lock not refreshed for this long is stale (docs/storage.md states it; a doc test checks). */
export const DEFAULT_STALE_AFTER_MS = 30 * 60_000;
export const DEFAULT_REFRESH_EVERY_MS = 5 * 60_000;
/**
 * On a store whose listings may lag behind writes, wait this long between
 * writing our lock and listing the others, so a racing locker's object shows.
 */
export const LIST_SETTLE_MS = 2_000;

export interface LockOptions {
  /** A lock not refreshed for this long is stale (default 30 min). */
  readonly staleAfterMs?: number;
  /** How often a held lock rewrites its `refreshed` time (default 5 min). */
  readonly refreshEveryMs?: number;
  /** This process's identity; injected by tests. */
  readonly hostname?: string;
  readonly pid?: number;
  readonly now?: () => Date;
  /** Called when the lease is lost (the object was removed, or refreshes failed too long); the signal aborts too. */
  readonly onLost?: (info: LockInfo) => void;
  /** Waits LIST_SETTLE_MS on stores without consistent listings; injected by tests. */
  readonly sleep?: (ms: number) => Promise<unknown>;
}

export interface RemoveStaleOptions extends Pick<LockOptions, "staleAfterMs" | "hostname" | "now"> {
  /** Remove every lock, live or not, including unreadable ones (`lifeboat unlock --remove-all`). */
  readonly all?: boolean;
}

interface StoredLock {
  readonly key: string;
  readonly info: LockInfo;
  /** Why the object could not be read as a lock; such a lock blocks everything until removed with `all`. */
  readonly unreadable?: string;
}

export async function acquireLock(
  backend: Backend,
  kind: LockKind,
  command: string,
  options: LockOptions = {},
): Promise<Lock> {
  const now = options.now ?? (() => new Date());
  const host = options.hostname ?? osHostname();
  const stamp = now().toISOString();
  const info: LockInfo = {
    id: randomBytes(16).toString("hex"),
    kind,
    hostname: host,
    pid: options.pid ?? process.pid,
    command,
    created: stamp,
    refreshed: stamp,
  };
  const key = LOCKS_PREFIX + info.id;
  await backend.put(key, encodeLock(info), { ifAbsent: true });
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;

  try {
    // The protocol needs a listing that shows a racing locker's object (restic waits likewise).
    if (!backend.capabilities.listAfterWriteConsistent) await (options.sleep ?? sleep)(LIST_SETTLE_MS);
    for (const other of await readLocks(backend)) {
      if (other.key === key) continue;
      if (isStale(other, { staleAfterMs, hostname: host, now: now() })) {
        await backend.delete(other.key).catch(() => {}); // best effort: it blocks nobody either way
        continue;
      }
      if (kind === "exclusive" || other.info.kind === "exclusive") {
        throw new LifeboatError("LOCKED", `repository is locked: ${describeHolder(other)}`, {
          details: { holder: other.info, wanted: kind },
        });
      }
    }
  } catch (error) {
    await backend.delete(key).catch(() => {});
    throw error;
  }

  return new HeldLock(backend, key, info, {
    refreshEveryMs: options.refreshEveryMs ?? DEFAULT_REFRESH_EVERY_MS,
    staleAfterMs,
    now,
    onLost: options.onLost,
  });
}

/** Every lock in the repository, unreadable ones included (shown with hostname "(unreadable)"). */
export async function listLocks(backend: Backend): Promise<LockInfo[]> {
  return (await readLocks(backend)).map((lock) => lock.info);
}

/** Remove stale locks (or, with `all`, every lock); returns the removed ones. */
export async function removeStaleLocks(
  backend: Backend,
  options: RemoveStaleOptions = {},
): Promise<LockInfo[]> {
  const context = {
    staleAfterMs: options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
    hostname: options.hostname ?? osHostname(),
    now: (options.now ?? (() => new Date()))(),
  };
  const removed: LockInfo[] = [];
  for (const lock of await readLocks(backend)) {
    if (options.all || isStale(lock, context)) {
      await backend.delete(lock.key);
      removed.push(lock.info);
    }
  }
  return removed;
}

class HeldLock implements Lock {
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

function encodeLock(info: LockInfo): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(info, null, 2) + "\n");
}

async function readLocks(backend: Backend): Promise<StoredLock[]> {
  const keys: string[] = [];
  for await (const object of backend.list(LOCKS_PREFIX)) keys.push(object.key);
  const locks: StoredLock[] = [];
  for (const key of keys.sort()) {
    let bytes: Uint8Array;
    try {
      bytes = await backend.get(key);
    } catch (error) {
      if (isLifeboatError(error, "OBJECT_MISSING")) continue; // released between list and get
      throw error;
    }
    locks.push(parseLock(key, bytes));
  }
  return locks;
}

function parseLock(key: string, bytes: Uint8Array): StoredLock {
  const id = key.slice(LOCKS_PREFIX.length);
  let problem: string;
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    problem = lockProblem(value);
    if (problem === "") {
      const v = value as LockInfo;
      const info: LockInfo = {
        id,
        kind: v.kind,
        hostname: v.hostname,
        pid: v.pid,
        command: v.command,
        created: v.created,
        refreshed: v.refreshed,
      };
      return { key, info };
    }
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
  }
  const info: LockInfo = {
    id,
    kind: "exclusive",
    hostname: "(unreadable)",
    pid: 0,
    command: `(unreadable lock object ${key}: ${problem})`,
    created: "",
    refreshed: "",
  };
  return { key, info, unreadable: problem };
}

function lockProblem(value: unknown): string {
  if (typeof value !== "object" || value === null) return "not a JSON object";
  const v = value as Record<string, unknown>;
  if (v.kind !== "shared" && v.kind !== "exclusive") return "bad kind";
  if (typeof v.hostname !== "string") return "bad hostname";
  if (!Number.isInteger(v.pid)) return "bad pid";
  if (typeof v.command !== "string") return "bad command";
  for (const field of ["created", "refreshed"]) {
    const time = v[field];
    if (typeof time !== "string" || Number.isNaN(Date.parse(time))) return `bad ${field}`;
  }
  return "";
}

function isStale(lock: StoredLock, context: { staleAfterMs: number; hostname: string; now: Date }): boolean {
  if (lock.unreadable !== undefined) return false; // cannot tell: keep blocking until removed by hand
  const { info } = lock;
  if (context.now.getTime() - Date.parse(info.refreshed) > context.staleAfterMs) return true;
  return info.hostname === context.hostname && !processExists(info.pid);
}

/** Whether a pid is alive on this host. EPERM means it exists but belongs to someone else. */
function processExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false; // 0 and negatives would address process groups
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !(typeof error === "object" && error !== null && "code" in error && error.code === "ESRCH");
  }
}

function describeHolder(lock: StoredLock): string {
  const { info } = lock;
  if (lock.unreadable !== undefined) {
    return `lock object ${lock.key} cannot be read (${lock.unreadable}); remove it with \`lifeboat unlock --remove-all\` once no other Lifeboat runs`;
  }
  return (
    `${info.kind} lock held by pid ${info.pid} on host "${info.hostname}" for "${info.command}" ` +
    `since ${info.created} (last refreshed ${info.refreshed}; lock id ${info.id})`
  );
}
