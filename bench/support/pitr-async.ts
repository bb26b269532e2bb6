// The asynchronous-archiving run of the PITR benchmark leaves background
// processes behind on purpose: Lifeboat's wal-pusher (it leaves after 30 s
// idle) and pgBackRest's archive-push:async (it leaves when its queue is
// empty). Neither may still be running when the next variant is measured or
// when the clusters stop, so this finds them by their tool's config path (a
// path inside this run's work folder, shared by no other process), waits for
// them to leave by themselves and, past a deadline, ends them by pid.

import { chown, mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { postgresIds } from "./pitr-archiving.ts";

/** A fresh, postgres-owned spool directory (one per tool, never shared with the synchronous runs). */
export async function makeSpoolDir(parent: string, name: string): Promise<string> {
  const dir = join(parent, name);
  await mkdir(dir, { recursive: true, mode: 0o750 });
  const { uid, gid } = postgresIds();
  await chown(dir, uid, gid);
  return dir;
}

export interface BackgroundProcess {
  readonly pid: number;
  readonly commandLine: string;
}

/** Every process (but this one) whose command line contains `marker`. */
export async function processesMentioning(marker: string): Promise<BackgroundProcess[]> {
  const found: BackgroundProcess[] = [];
  for (const entry of await readdir("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const raw = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    const commandLine = raw.split("\0").join(" ").trim();
    if (commandLine.includes(marker)) found.push({ pid, commandLine });
  }
  return found;
}

export interface BackgroundExit {
  /** Command lines seen when the wait began. */
  readonly seen: readonly string[];
  /** Seconds until none was left; undefined if some had to be ended. */
  readonly leftAfterSeconds?: number;
  /** Pids ended with SIGTERM (then SIGKILL) after the deadline. */
  readonly ended: readonly number[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits up to `timeoutSeconds` for the processes mentioning `marker` to leave, then ends the rest by pid. */
export async function awaitBackgroundExit(marker: string, timeoutSeconds: number): Promise<BackgroundExit> {
  const started = performance.now();
  const seen = (await processesMentioning(marker)).map((p) => p.commandLine);
  for (;;) {
    const left = await processesMentioning(marker);
    if (left.length === 0) return { seen, leftAfterSeconds: (performance.now() - started) / 1000, ended: [] };
    if (performance.now() - started > timeoutSeconds * 1000) return { seen, ended: await end(left) };
    await sleep(200);
  }
}

/** SIGTERM, five seconds' grace, then SIGKILL: each by its own pid. */
export async function end(processes: readonly BackgroundProcess[]): Promise<number[]> {
  const signal = (pid: number, name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  for (const { pid } of processes) signal(pid, "SIGTERM");
  const deadline = Date.now() + 5000;
  let alive = processes.map((p) => p.pid);
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(100);
    alive = alive.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
  }
  for (const pid of alive) signal(pid, "SIGKILL");
  return processes.map((p) => p.pid);
}

/** What Lifeboat's pusher log says: files each pusher reported on leaving, and failed pushes. */
export async function pusherLogFacts(path: string): Promise<{ archived: number[]; failedPushes: number }> {
  const text = await readFile(path, "utf8").catch(() => "");
  const archived = [...text.matchAll(/archived (\d+) WAL file\(s\)/g)].map((m) => Number(m[1]));
  const failedPushes = [...text.matchAll(/pushing \S+ failed/g)].length;
  return { archived, failedPushes };
}
