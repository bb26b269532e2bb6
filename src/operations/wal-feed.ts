// Feeding a recovering server the WAL files its recovery plan names
// (plan/pitr.ts), ahead of replay: several fetches in flight, at most a
// window of files ahead of the one the server last asked for, and files the
// server is done with removed, so the spool stays small however long the
// archive. The hand-over protocol is engines/postgres/physical/wal-spool.ts
// (the names are repeated here: operations may not import an engine's files).

import { readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { WalFeed } from "../engines/engine.ts";
import type { WalArchive } from "../repository/wal-archive.ts";

const PARALLEL_FETCHES = 4;
const WINDOW = 16;
const POLL_MS = 20;

export interface WalFeedOptions {
  readonly parallel?: number;
  readonly window?: number;
  readonly signal?: AbortSignal;
}

export async function startWalFeed(
  archive: WalArchive,
  names: readonly string[],
  spool: string,
  options: WalFeedOptions = {},
): Promise<WalFeed> {
  const window = options.window ?? WINDOW;
  const index = new Map(names.map((name, position) => [name, position]));
  await writeAtomically(join(spool, "expected"), names.join("\n") + "\n");
  let stopped = false;
  let next = 0;
  let asked = -1;
  /** Segments removed from the spool; PostgreSQL may still ask for one again (it re-reads at promotion). */
  const removed = new Set<string>();
  const again: string[] = [];

  const refreshAsked = async () => {
    for (const name of await readdir(join(spool, "asked")).catch(() => [] as string[])) {
      const position = index.get(name);
      if (position === undefined) continue;
      if (position > asked) asked = position;
      if (removed.delete(name)) again.push(name);
    }
    // Segments well behind the newest asked are done with; history files are tiny and re-read: kept.
    for (let position = 0; position < asked - 2; position++) {
      const name = names[position]!;
      if (name.endsWith(".history") || removed.has(name) || position >= next) continue;
      await rm(join(spool, "files", name), { force: true });
      removed.add(name);
    }
  };

  const fetchInto = async (name: string) => {
    // The plan's last segment may exist only as its stream head (wal-stream).
    const file = await archive.readForRecovery(name);
    if (!file) throw new Error(`${archive.keyOf(name)} vanished from the archive during the restore`);
    await writeAtomically(join(spool, "files", name), file.data);
  };

  const worker = async () => {
    while (!stopped && !options.signal?.aborted) {
      const repeat = again.shift();
      if (repeat) {
        await fetchInto(repeat);
        continue;
      }
      if (next >= names.length || next > asked + window) {
        await refreshAsked();
        if (again.length === 0 && (next >= names.length || next > asked + window)) {
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
        continue;
      }
      await fetchInto(names[next++]!);
    }
  };

  const workers = Array.from({ length: options.parallel ?? PARALLEL_FETCHES }, () =>
    worker().catch(async (error: unknown) => {
      stopped = true;
      const message = error instanceof Error ? error.message : String(error);
      await writeFile(join(spool, "failed"), `lifeboat: fetching WAL failed: ${message}\n`).catch(() => {});
    }),
  );
  return {
    async stop() {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

async function writeAtomically(path: string, data: string | Buffer): Promise<void> {
  const partial = `${path}.tmp`;
  await writeFile(partial, data, { mode: 0o644 });
  await rename(partial, path);
}
