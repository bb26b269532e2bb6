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
// (kill -9, power loss). Another host's `refreshed` time comes from its clock,
// which is trusted only to MAX_CLOCK_SKEW_MS: its lock is stale only after
// staleAfterMs plus that skew, so a host whose clock is a few minutes behind
// never loses a live lease. A held lock refreshes itself on an unref'd timer
// so a long backup is never mistaken for a dead one.
//
// With `retryForMs` (`--retry-lock`) a refused lock is retried with jittered
// backoff until the time is up, watching the command's abort signal.
//
// A lease can be lost: someone removes the object (`unlock --remove-all`, or
// judging it stale), or refreshes fail until others may judge it stale. The
// holder is then no longer protected from a prune, so the lock's `signal`
// aborts with LOCK_LOST and the operation stops instead of carrying on.

import { randomBytes } from "node:crypto";
import { hostname as osHostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { formatSeconds } from "../domain/duration.ts";
import { LifeboatError } from "../errors.ts";
import type { Backend } from "../storage/backend.ts";
import { HeldLock } from "./held-lock.ts";
import { encodeLock, LOCKS_PREFIX, readLocks, type StoredLock } from "./lock-file.ts";
import type { Lock, LockInfo, LockKind } from "./types.ts";

export { LOCKS_PREFIX };

/** A lock not refreshed for this long is stale (docs/storage.md states it; a doc test checks). */
export const DEFAULT_STALE_AFTER_MS = 30 * 60_000;
export const DEFAULT_REFRESH_EVERY_MS = 5 * 60_000;
/**
 * How far another host's clock may be off ours: its lock is stale only when
 * not refreshed for the stale window plus this (docs/storage.md; a doc test checks).
 */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** `--retry-lock` backoff: the first wait, doubling up to the cap, each jittered by ±25 %. */
export const LOCK_RETRY_FIRST_DELAY_MS = 1_000;
export const LOCK_RETRY_MAX_DELAY_MS = 30_000;
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
  /** Keep retrying a refused lock this long (`--retry-lock`); 0 or absent fails at once. */
  readonly retryForMs?: number;
  /** Stops a `retryForMs` wait at once, failing with the signal's reason (Ctrl-C, SIGTERM). */
  readonly signal?: AbortSignal;
  /** Told once, with a sentence naming the holder, when a refused lock starts being waited for. */
  readonly onWait?: (message: string) => void;
}

export interface RemoveStaleOptions extends Pick<LockOptions, "staleAfterMs" | "hostname" | "now"> {
  /** Remove every lock, live or not, including unreadable ones (`lifeboat unlock --remove-all`). */
  readonly all?: boolean;
}

/**
 * Take a lock of `kind` for `command`, or fail with LOCKED naming the holder.
 * With `retryForMs`, a refused lock is tried again until that time is over.
 */
export async function acquireLock(
  backend: Backend,
  kind: LockKind,
  command: string,
  options: LockOptions = {},
): Promise<Lock> {
  const retryForMs = options.retryForMs ?? 0;
  // A monotonic clock: the wait must not stretch or end early when the wall clock is set.
  const started = performance.now();
  for (let attempt = 0; ; attempt++) {
    options.signal?.throwIfAborted();
    const result = await attemptLock(backend, kind, command, options);
    if ("lock" in result) return result.lock;
    const waited = performance.now() - started;
    const left = retryForMs - waited;
    if (left <= 0) throw lockedError(result, kind, retryForMs > 0 ? waited : undefined);
    if (attempt === 0) {
      options.onWait?.(`waiting up to ${formatSeconds(retryForMs / 1000)} for the ${result.description}`);
    }
    await abortableSleep(Math.min(left, retryDelay(attempt)), options.signal);
  }
}

function lockedError(
  { holder, description }: { holder: StoredLock; description: string },
  wanted: LockKind,
  waitedMs: number | undefined,
): LifeboatError {
  const waited =
    waitedMs === undefined
      ? ""
      : `; still held after waiting ${formatSeconds(waitedMs / 1000)} (--retry-lock)`;
  return new LifeboatError("LOCKED", `repository is locked: ${description}${waited}`, {
    details: {
      holder: holder.info,
      wanted,
      ...(waitedMs === undefined ? {} : { waitedMs: Math.round(waitedMs) }),
    },
  });
}

/** Exponential backoff with jitter, so hosts waiting for the same lock do not retry in step. */
function retryDelay(attempt: number): number {
  const base = Math.min(LOCK_RETRY_MAX_DELAY_MS, LOCK_RETRY_FIRST_DELAY_MS * 2 ** attempt);
  return base * (0.75 + Math.random() * 0.5);
}

async function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    signal?.throwIfAborted(); // the command's own reason (INTERRUPTED), not a bare AbortError
    throw error;
  }
}

/** One try of the protocol: our lock, or the live lock that conflicts with it (ours then removed). */
async function attemptLock(
  backend: Backend,
  kind: LockKind,
  command: string,
  options: LockOptions,
): Promise<{ lock: Lock } | { holder: StoredLock; description: string }> {
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
  // A plain put: the id is 128 random bits, so no other lock has this name, and a
  // conditional put would cost a store without one a probe (and a HEAD) per command.
  await backend.put(key, encodeLock(info));
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
        await backend.delete(key).catch(() => {});
        return { holder: other, description: describeHolder(other, now()) };
      }
    }
  } catch (error) {
    await backend.delete(key).catch(() => {});
    throw error;
  }

  const lock = new HeldLock(backend, key, info, {
    refreshEveryMs: options.refreshEveryMs ?? DEFAULT_REFRESH_EVERY_MS,
    staleAfterMs,
    now,
    onLost: options.onLost,
  });
  return { lock };
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

function isStale(lock: StoredLock, context: { staleAfterMs: number; hostname: string; now: Date }): boolean {
  if (lock.unreadable !== undefined) return false; // cannot tell: keep blocking until removed by hand
  const { info } = lock;
  const age = context.now.getTime() - Date.parse(info.refreshed);
  // Our own clock wrote it, and our process table says whether its holder lives.
  if (info.hostname === context.hostname) return age > context.staleAfterMs || !processExists(info.pid);
  // Another host's clock may be behind ours by up to the skew: a live lease must not look expired.
  // A `refreshed` far in the future (its clock is ahead by more than the skew) gives no lease we
  // can measure; it is not broken early (a prune must not run under a live backup): it lapses only
  // once our clock passes it plus the window, and the LOCKED message says the holder's clock is off.
  return age > context.staleAfterMs + MAX_CLOCK_SKEW_MS;
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

function describeHolder(lock: StoredLock, now: Date): string {
  const { info } = lock;
  if (lock.unreadable !== undefined) {
    return `lock object ${lock.key} cannot be read (${lock.unreadable}); remove it with \`lifeboat unlock --remove-all\` once no other Lifeboat runs`;
  }
  const ahead = Date.parse(info.refreshed) - now.getTime();
  const clock =
    ahead > MAX_CLOCK_SKEW_MS
      ? `; its refresh time is ${formatSeconds(ahead / 1000)} ahead of this host's clock, more than the ` +
        `${MAX_CLOCK_SKEW_MS / 60_000}-minute skew allowed: fix that host's clock, or run \`lifeboat unlock --remove-all\` once it is sure to be dead`
      : "";
  return (
    `${info.kind} lock held by pid ${info.pid} on host "${info.hostname}" for "${info.command}" ` +
    `since ${info.created} (last refreshed ${info.refreshed}; lock id ${info.id})${clock}`
  );
}
