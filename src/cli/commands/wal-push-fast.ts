// The fast path of `wal-push` under wal_push.async. PostgreSQL runs
// archive_command once per segment and waits for it, so the common case (the
// background pusher has already archived the file) must cost no more than a
// process start and a few file-system calls: this reads only the source's
// wal_push fields from lifeboat.yaml, with no schema, no engines and no
// repository. While a pusher is alive and working on the file, this waits for
// it here (loading the full command would cost more than most pushes take).
// Anything else (no pusher, a failure to report, an unusual config, a long
// wait) falls through to the full command, which validates everything,
// starts a pusher and reports errors.

import { readFile, rm, stat } from "node:fs/promises";
import { basename, isAbsolute, join } from "node:path";
import { configPath } from "../../config/config-path.ts";
import { pidFileAlive } from "../../operations/wal-pusher-pid.ts";
import { recalledSpoolDir } from "../../runtime/spool-memo.ts";

const POLL_MS = 5;
/** Past this the full command takes over the wait (with its own timeout and reporting). */
const FAST_WAIT_MS = 5000;

export async function tryFastWalPush(
  configFlag: string | undefined,
  sourceName: string,
  path: string,
  json: boolean,
): Promise<boolean> {
  const file = configPath(configFlag);
  // The note the full command left (runtime/spool-memo.ts) spares the YAML parser; else read the file.
  let spoolDir: unknown = await recalledSpoolDir(file, sourceName);
  if (spoolDir === undefined) {
    try {
      const { parse } = await import("yaml");
      const config = parse(await readFile(file, "utf8")) as {
        sources?: Record<string, { wal_push?: { async?: unknown; spool_dir?: unknown } }>;
      };
      const push = config?.sources?.[sourceName]?.wal_push;
      if (push?.async !== true) return false;
      spoolDir = push.spool_dir;
    } catch {
      return false; // the full command reports what is wrong with the config
    }
  }
  if (typeof spoolDir !== "string" || !isAbsolute(spoolDir)) return false;
  const name = basename(path);
  if (!(await waitForPusher(join(spoolDir, sourceName), name))) return false;
  await rm(join(spoolDir, sourceName, "done", name), { force: true });
  const result = { name, outcome: "stored", async: true };
  process.stdout.write(
    json ? `${JSON.stringify(result, null, 2)}\n` : `archived ${name} (by the background pusher)\n`,
  );
  return true;
}

/**
 * True once the pusher has archived `name`; false as soon as the full command
 * is needed: no live pusher, a failure on record, or FAST_WAIT_MS passed.
 */
async function waitForPusher(spool: string, name: string): Promise<boolean> {
  const deadline = Date.now() + FAST_WAIT_MS;
  for (;;) {
    if (await isFile(join(spool, "done", name))) return true;
    if (await isFile(join(spool, "failed", name))) return false;
    if (Date.now() > deadline || !(await pidFileAlive(join(spool, "pusher.pid")))) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isFile(),
    () => false,
  );
}
