// Whether the background pusher of wal_push.async is alive, read from its pid
// file. Its own module, importing nothing else, because wal-push's fast path
// (cli/commands/wal-push-fast.ts) asks this on every segment and must stay
// light.

import { readFile } from "node:fs/promises";

/** Whether `pidFile` names a live process (EPERM: alive, under another user). */
export async function pidFileAlive(pidFile: string): Promise<boolean> {
  const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
