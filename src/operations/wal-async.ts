// Asynchronous WAL archiving (wal_push.async), pgBackRest's archive-async
// idea without its local copy of the WAL: one background pusher per cluster
// reads every file PostgreSQL has marked .ready in pg_wal and archives them,
// several at a time, ahead of the archiver's requests. archive_command
// (wal-push) then only waits for the pusher's word on its file, usually
// already there, and so PostgreSQL waits milliseconds per segment instead of
// a repository round trip.
//
// The spool holds status files only, never WAL, so it cannot fill a disk;
// while storage is down the pusher fails, archive_command fails, and
// PostgreSQL keeps the WAL in pg_wal and retries, as with any failing
// archive_command (and says so in pg_stat_archiver and its log).
//
//   <spool>/pusher.pid     the running pusher (created exclusively by it)
//   <spool>/pusher.log     its output
//   <spool>/done/<name>    archived, waiting for archive_command to collect
//   <spool>/failed/<name>  the last push failed: the error, for archive_command to report

import { mkdir, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LifeboatError } from "../errors.ts";
import type { OperationContext } from "./context.ts";
import { pidFileAlive } from "./wal-pusher-pid.ts";
import { walPush, type WalPushRequest } from "./wal.ts";

const POLL_MS = 10;
/** The pusher stops after this long without new files (the next archive_command starts another). */
const IDLE_MS = 30_000;
const RETRY_MS = 1000;
const PUSHER_CHECK_MS = 500;
const PUSHER_START_MS = 5000;

export interface SpoolPaths {
  readonly dir: string;
  readonly pid: string;
  readonly log: string;
  readonly done: string;
  readonly failed: string;
}

export function spoolPaths(spoolDir: string, source: string): SpoolPaths {
  const dir = join(spoolDir, source);
  return {
    dir,
    pid: join(dir, "pusher.pid"),
    log: join(dir, "pusher.log"),
    done: join(dir, "done"),
    failed: join(dir, "failed"),
  };
}

export async function prepareSpoolDir(spool: SpoolPaths): Promise<void> {
  await mkdir(spool.done, { recursive: true, mode: 0o700 });
  await mkdir(spool.failed, { recursive: true, mode: 0o700 });
}

/** Whether a pusher is alive for this spool (its pid file names a live process). */
export function pusherAlive(spool: SpoolPaths): Promise<boolean> {
  return pidFileAlive(spool.pid);
}

export type PushWait =
  { readonly outcome: "done" } | { readonly outcome: "failed"; readonly message: string };

/**
 * archive_command's side: collect the pusher's word on `name`, starting a
 * pusher (`startPusher`) when none runs, for at most `waitMs`.
 */
export async function awaitPushed(
  spool: SpoolPaths,
  name: string,
  options: { waitMs: number; startPusher: () => void; signal?: AbortSignal },
): Promise<PushWait> {
  const deadline = Date.now() + options.waitMs;
  let checkedPusher = 0;
  for (;;) {
    if (await exists(join(spool.done, name))) {
      await rm(join(spool.done, name), { force: true });
      return { outcome: "done" };
    }
    const failure = await readFile(join(spool.failed, name), "utf8").catch(() => undefined);
    if (failure !== undefined) {
      await rm(join(spool.failed, name), { force: true });
      return { outcome: "failed", message: failure.trim() };
    }
    if (Date.now() - checkedPusher > PUSHER_CHECK_MS) {
      checkedPusher = Date.now();
      if (!(await pusherAlive(spool))) {
        options.startPusher();
        // A pusher takes a moment to start and write its pid file: do not start another meanwhile.
        checkedPusher = Date.now() + PUSHER_START_MS;
      }
    }
    if (Date.now() > deadline) {
      throw new LifeboatError(
        "WAL_PUSH_TIMEOUT",
        `the background pusher did not archive ${name} within ${Math.round(options.waitMs / 1000)}s`,
        { details: { name, log: spool.log } },
      );
    }
    options.signal?.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export interface PusherOptions {
  readonly spool: SpoolPaths;
  readonly walDir: string;
  readonly parallel: number;
  /** The files PostgreSQL waits to archive, in order (the engine reads archive_status). */
  readonly ready: () => Promise<string[]>;
  readonly idleMs?: number;
}

/**
 * The pusher: holds the spool's pid file, archives every ready file not yet
 * archived, and leaves when there has been nothing to do for a while.
 * Returns the number of files it archived.
 *
 * A pool, not batches: a file that becomes ready while others are in flight
 * starts as soon as a slot is free, since archive_command is already waiting
 * for it; the archive_status directory is read every POLL_MS meanwhile.
 */
export async function runPusher(
  context: OperationContext,
  request: Omit<WalPushRequest, "path">,
  options: PusherOptions,
): Promise<number> {
  if (!(await claimPidFile(options.spool))) return 0; // another pusher runs
  const pushed = new Set<string>();
  const inFlight = new Map<string, Promise<void>>();
  /** name -> when its last push failed: it is retried RETRY_MS later. */
  const failedAt = new Map<string, number>();
  let archived = 0;
  let idleSince = Date.now();

  const push = async (name: string): Promise<void> => {
    try {
      await walPush(context, { ...request, path: join(options.walDir, name) });
      await writeFile(join(options.spool.done, name), "");
      await rm(join(options.spool.failed, name), { force: true });
      pushed.add(name);
      failedAt.delete(name);
      archived++;
    } catch (error) {
      failedAt.set(name, Date.now());
      const message = error instanceof LifeboatError ? `[${error.code}] ${error.message}` : String(error);
      context.log.warn(`pushing ${name} failed: ${message}`);
      await writeFile(join(options.spool.failed, name), message).catch(() => {});
    } finally {
      inFlight.delete(name);
    }
  };

  try {
    while (!context.signal?.aborted) {
      const ready = await options.ready();
      for (const name of pushed) if (!ready.includes(name)) pushed.delete(name); // collected: forget it
      for (const name of ready) {
        if (inFlight.size >= options.parallel) break;
        if (pushed.has(name) || inFlight.has(name)) continue;
        if (Date.now() - (failedAt.get(name) ?? -Infinity) < RETRY_MS) continue;
        if (await exists(join(options.spool.done, name))) continue;
        inFlight.set(name, push(name));
      }
      if (inFlight.size > 0) idleSince = Date.now();
      else if (Date.now() - idleSince > (options.idleMs ?? IDLE_MS)) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    await Promise.all(inFlight.values()); // a stop lets the pushes under way finish or fail
  } finally {
    await rm(options.spool.pid, { force: true });
  }
  return archived;
}

/** Create the pid file exclusively; a stale one (its process gone) is replaced. */
async function claimPidFile(spool: SpoolPaths): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(spool.pid, "wx", 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (await pusherAlive(spool)) return false;
      await rm(spool.pid, { force: true });
    }
  }
  return false;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
