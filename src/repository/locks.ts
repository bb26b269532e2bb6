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

import { randomBytes } from "node:crypto";
import { hostname as osHostname } from "node:os";
import { LifeboatError, isLifeboatError } from "../errors.ts";
import type { Backend } from "../storage/backend.ts";
import type { Lock, LockInfo, LockKind } from "./types.ts";

export const LOCKS_PREFIX = "locks/";
const DEFAULT_STALE_AFTER_MS = 30 * 60_000;
const DEFAULT_REFRESH_EVERY_MS = 5 * 60_000;

export interface LockOptions {
  /** A lock not refreshed for this long is stale (default 30 min). */
  readonly staleAfterMs?: number;
  /** How often a held lock rewrites its `refreshed` time (default 5 min). */
  readonly refreshEveryMs?: number;
  /** This process's identity; injected by tests. */
  readonly hostname?: string;
  readonly pid?: number;
  readonly now?: () => Date;
  /** Called if a refresh finds our lock object gone (another process judged it stale and removed it). */
  readonly onLost?: (info: LockInfo) => void;
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

  try {
    const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
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
  readonly #onLost: ((info: LockInfo) => void) | undefined;
  readonly #timer: NodeJS.Timeout;
  #info: LockInfo;
  #stopped = false;
  #refreshing: Promise<void> | undefined;

  constructor(
    backend: Backend,
    key: string,
    info: LockInfo,
    options: { refreshEveryMs: number; now: () => Date; onLost: ((info: LockInfo) => void) | undefined },
  ) {
    this.#backend = backend;
    this.#key = key;
    this.#info = info;
    this.#now = options.now;
    this.#onLost = options.onLost;
    // unref: a forgotten lock must never keep the process alive.
    this.#timer = setInterval(() => void this.#refresh(), options.refreshEveryMs).unref();
  }

  get info(): LockInfo {
    return this.#info;
  }

  async release(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    // Let an in-flight refresh finish first, or it could re-create the object we delete.
    await this.#refreshing;
    await this.#backend.delete(this.#key);
  }

  #refresh(): Promise<void> {
    if (this.#stopped || this.#refreshing) return this.#refreshing ?? Promise.resolve();
    this.#refreshing = (async () => {
      try {
        if ((await this.#backend.stat(this.#key)) === undefined) {
          // Someone removed our lock as stale: do not silently re-create it
          // (an exclusive holder may have started meanwhile); stop and tell.
          this.#stopped = true;
          clearInterval(this.#timer);
          this.#onLost?.(this.#info);
          return;
        }
        const next = { ...this.#info, refreshed: this.#now().toISOString() };
        await this.#backend.put(this.#key, encodeLock(next));
        this.#info = next;
      } catch {
        // A transient storage failure: the next tick tries again, well before the lease runs out.
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
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
