// Where a command's wall time goes, without touching its code: every 100 ms,
// look in /proc for descendants of the measured process by name (pg_dump,
// pg_restore, ...) and remember when each name was first and last seen. The
// time outside those windows is the command's own work (chunking, hashing,
// compression, encryption, staging, verification).

import { readdir, readFile } from "node:fs/promises";

export interface PhaseWindow {
  readonly name: string;
  /** Seconds after the command started. */
  readonly firstSeen: number;
  readonly lastSeen: number;
}

async function processTable(): Promise<Map<number, { ppid: number; comm: string }>> {
  const table = new Map<number, { ppid: number; comm: string }>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
    const close = stat.lastIndexOf(")");
    if (close < 0) continue;
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const ppid = Number(stat.slice(close + 2).split(" ")[1]);
    table.set(Number(entry), { ppid, comm });
  }
  return table;
}

function descends(pid: number, root: number, table: Map<number, { ppid: number }>): boolean {
  for (let current = pid, hops = 0; current > 1 && hops < 64; hops++) {
    if (current === root) return true;
    current = table.get(current)?.ppid ?? 0;
  }
  return false;
}

export function watchPhases(root: number, names: readonly string[]) {
  const started = performance.now();
  const windows = new Map<string, { firstSeen: number; lastSeen: number }>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const table = await processTable();
      const now = (performance.now() - started) / 1000;
      for (const [pid, { comm }] of table) {
        if (!names.includes(comm) || !descends(pid, root, table)) continue;
        const window = windows.get(comm);
        if (window) window.lastSeen = now;
        else windows.set(comm, { firstSeen: now, lastSeen: now });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return async (): Promise<PhaseWindow[]> => {
    stopped = true;
    await loop;
    return [...windows].map(([name, window]) => ({ name, ...window }));
  };
}
