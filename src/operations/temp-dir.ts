// Private scratch directories ("spools") for one engine run: a restore's
// decrypted dump, a backup's capture. They can hold hundreds of MB of
// plaintext, so they must never outlive their run:
//
// - removed when the run ends, whether it returns or throws (SIGINT/SIGTERM
//   abort the run, so they end here too);
// - removed synchronously on process.exit() (a second Ctrl-C, a fatal error)
//   by an exit hook;
// - after a kill -9, removed by the next Lifeboat command (sweepSpools): the
//   name records the owner, `lifeboat-<kind>-h<host tag>-p<pid>-<random>`, so a
//   sweep proves a spool is a leftover (same host, pid gone, older than a
//   grace period) before touching it. A live process's spool is never removed.

import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { lstat, mkdtemp, readdir, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";

/** A leftover spool is removed only when it is at least this old (its owner is dead, and it is not new). */
export const SPOOL_GRACE_MS = 10 * 60_000;

const live = new Set<string>();
let exitHookInstalled = false;

/** Where spools live: $LIFEBOAT_TMPDIR, else the system's temp directory. */
export function spoolRoot(): string {
  return process.env.LIFEBOAT_TMPDIR ?? tmpdir();
}

/** A short stable tag of this host's name: spools of other hosts sharing /tmp are never judged by our pids. */
export function hostTag(host = hostname()): string {
  return createHash("sha256").update(host).digest("hex").slice(0, 8);
}

const SPOOL_NAME = /^lifeboat-([a-z0-9]+)-h([0-9a-f]{8})-p(\d+)-[A-Za-z0-9]{6}$/;
/** Spools made before names carried their owner: reported, never removed (nothing proves they are dead). */
// (Not `drill`: engines name live scratch folders lifeboat-drill-XXXXXX too.)
const LEGACY_SPOOL_NAME = /^lifeboat-(restore|backup|size)-[A-Za-z0-9]{6}$/;

function removeLiveSpoolsNow(): void {
  for (const dir of live) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // exiting anyway; the next command's sweep gets it
    }
  }
  live.clear();
}

export async function withTempDir<T>(prefix: string, run: (dir: string) => Promise<T>): Promise<T> {
  if (!/^[a-z0-9]+$/.test(prefix))
    throw new RangeError(`spool kind must be lowercase letters and digits: ${prefix}`);
  if (!exitHookInstalled) {
    process.on("exit", removeLiveSpoolsNow);
    exitHookInstalled = true;
  }
  // mkdtemp makes it 0700 and appends the 6 random characters.
  const dir = await mkdtemp(join(spoolRoot(), `lifeboat-${prefix}-h${hostTag()}-p${process.pid}-`));
  live.add(dir);
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
    live.delete(dir);
  }
}

export interface SpoolSweep {
  /** Leftover spools removed, and the bytes they held. */
  readonly removed: number;
  readonly bytesRemoved: number;
  /** Old-style spools whose owner cannot be proved dead: left alone, listed so a person can decide. */
  readonly unprovable: readonly string[];
}

/** Whether a pid is alive on this host. EPERM means it exists but belongs to someone else. */
function processExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !(typeof error === "object" && error !== null && "code" in error && error.code === "ESRCH");
  }
}

async function sizeOf(path: string): Promise<number> {
  let total = 0;
  try {
    const info = await lstat(path);
    if (!info.isDirectory()) return info.size;
    for (const entry of await readdir(path)) total += await sizeOf(join(path, entry));
  } catch {
    // vanished meanwhile, or unreadable: counted as nothing
  }
  return total;
}

/**
 * Remove spools left by Lifeboat processes of this host that are gone (kill
 * -9, power loss) and older than `graceMs`. Never fails the command that runs
 * it: a spool that cannot be removed is left for the next sweep.
 */
export async function sweepSpools(
  options: { root?: string; graceMs?: number; now?: number } = {},
): Promise<SpoolSweep> {
  const root = options.root ?? spoolRoot();
  const cutoff = (options.now ?? Date.now()) - (options.graceMs ?? SPOOL_GRACE_MS);
  const ours = hostTag();
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return { removed: 0, bytesRemoved: 0, unprovable: [] };
  }
  let removed = 0;
  let bytesRemoved = 0;
  const unprovable: string[] = [];
  for (const name of names) {
    if (!name.startsWith("lifeboat-")) continue;
    const path = join(root, name);
    const match = SPOOL_NAME.exec(name);
    if (!match) {
      if (LEGACY_SPOOL_NAME.test(name)) unprovable.push(path);
      continue;
    }
    const pid = Number(match[3]);
    if (match[2] !== ours || live.has(path) || processExists(pid)) continue;
    try {
      const info = await lstat(path);
      if (!info.isDirectory() || info.mtimeMs > cutoff) continue;
      const bytes = await sizeOf(path);
      await rm(path, { recursive: true, force: true });
      removed++;
      bytesRemoved += bytes;
    } catch {
      // not ours to remove after all (permissions), or gone: the next sweep looks again
    }
  }
  return { removed, bytesRemoved, unprovable };
}
