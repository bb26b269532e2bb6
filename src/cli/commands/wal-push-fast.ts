// The fast path of `wal-push` under wal_push.async. PostgreSQL runs
// archive_command once per segment and waits for it, so the common case (the
// background pusher has already archived the file) must cost no more than a
// process start and a few file-system calls: this reads only the source's
// wal_push fields from lifeboat.yaml, with no schema, no engines and no
// repository. Anything else (no word from the pusher yet, an unusual config)
// falls through to the full command, which validates everything.

import { rm, stat, readFile } from "node:fs/promises";
import { basename, isAbsolute, join } from "node:path";
import { parse } from "yaml";
import { configPath } from "../../config/load.ts";

export async function tryFastWalPush(
  configFlag: string | undefined,
  sourceName: string,
  path: string,
  json: boolean,
): Promise<boolean> {
  let spoolDir: unknown;
  try {
    const config = parse(await readFile(configPath(configFlag), "utf8")) as {
      sources?: Record<string, { wal_push?: { async?: unknown; spool_dir?: unknown } }>;
    };
    const push = config?.sources?.[sourceName]?.wal_push;
    if (push?.async !== true) return false;
    spoolDir = push.spool_dir;
  } catch {
    return false; // the full command reports what is wrong with the config
  }
  if (typeof spoolDir !== "string" || !isAbsolute(spoolDir)) return false;
  const name = basename(path);
  const done = join(spoolDir, sourceName, "done", name);
  if (
    !(await stat(done).then(
      (info) => info.isFile(),
      () => false,
    ))
  )
    return false;
  await rm(done, { force: true });
  const result = { name, outcome: "stored", async: true };
  process.stdout.write(
    json ? `${JSON.stringify(result, null, 2)}\n` : `archived ${name} (by the background pusher)\n`,
  );
  return true;
}
