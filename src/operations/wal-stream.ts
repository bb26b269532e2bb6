// lifeboat wal-stream SOURCE: keep a WAL receiver running (the engine's,
// pg_receivewal with a replication slot) and move what it writes into the
// archive, until SIGTERM.
//
// Every interval:
//   - each finished segment or history file in the receiver's directory is
//     pushed like archive_command's files (the same bytes twice succeed, so
//     a segment archive_command already pushed costs a read), then removed
//     locally, except the newest, which the receiver restarts after;
//   - the head of the current segment (`<segment>.partial`) is stored as
//     `<segment>.head` when the receiver has flushed more since the last
//     store, with the LSN it reaches. Recovery reads it in place of the
//     segment the archive does not hold yet, so the RPO is about one
//     interval instead of one segment switch.
//
// A store that fails (storage down) is retried at the next interval: the
// receiver keeps writing into its directory, and the slot keeps what it has
// not received in pg_wal, so the archive falls behind and catches up without
// losing a segment. A receiver that exits (the server restarted) is started
// again, after a pause that grows to a minute.

import { readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { SourceConfig } from "../engines/config.ts";
import type { EngineContext, WalReceiver, WalStreamSettings } from "../engines/engine.ts";
import {
  formatLsn,
  parseWalFileName,
  segmentNumberOf,
  segmentNumberOfName,
  streamHeadName,
} from "../domain/wal.ts";
import { LifeboatError, isLifeboatError } from "../errors.ts";
import type { WalArchive } from "../repository/wal-archive.ts";
import type { OperationContext } from "./context.ts";
import { withTempDir } from "./temp-dir.ts";
import { pitrOf } from "./wal.ts";

const MAX_RESTART_PAUSE_MS = 60_000;

export interface WalStreamSummary {
  readonly slot: string;
  readonly segmentsArchived: number;
  readonly headsStored: number;
  /** The LSN the newest stored head reaches, if any was stored. */
  readonly streamedUpTo: string | null;
}

/** What one pass found and did; the loop keeps it between passes. */
interface StreamState {
  readonly archived: Set<string>;
  readonly conflicts: Set<string>;
  head: { segment: string; upTo: bigint } | undefined;
  segmentsArchived: number;
  headsStored: number;
  /** The newest flush position read, kept for the last pass after the receiver stopped. */
  flushed: bigint | undefined;
}

export async function runWalStream(
  context: OperationContext,
  request: { readonly sourceName: string; readonly source: SourceConfig },
): Promise<WalStreamSummary> {
  const { sourceName, source } = request;
  const pitr = pitrOf(context, sourceName, source);
  const settings = pitr.streamSettings(source, sourceName);
  if (!settings) {
    throw new LifeboatError("BAD_ARGUMENT", `source ${sourceName} has no wal_stream settings`, {
      hint: `Add \`wal_stream: { dir: /var/lib/lifeboat/stream/${sourceName} }\` to ${sourceName} in lifeboat.yaml.`,
    });
  }
  const signal = context.signal ?? new AbortController().signal;
  const state: StreamState = {
    archived: new Set(),
    conflicts: new Set(),
    head: undefined,
    segmentsArchived: 0,
    headsStored: 0,
    flushed: undefined,
  };
  await withTempDir("walstream", async (tempDir) => {
    const engineContext: EngineContext = { runner: context.runner, log: context.log, tempDir };
    let pauseMs = 1000;
    while (!signal.aborted) {
      let receiver: WalReceiver;
      try {
        receiver = await pitr.receiveWal(source, settings, engineContext);
      } catch (error) {
        if (isLifeboatError(error, "BAD_ARGUMENT")) throw error;
        context.log.warn(
          `wal-stream ${sourceName}: ${(error as Error).message}; retrying in ${pauseMs / 1000}s`,
        );
        await pause(pauseMs, signal);
        pauseMs = Math.min(pauseMs * 2, MAX_RESTART_PAUSE_MS);
        continue;
      }
      context.log.info(`wal-stream ${sourceName}: streaming into ${settings.dir} (slot ${settings.slot})`);
      const archive = context.repository.walArchive(sourceName, receiver.systemId);
      let gone: string | undefined;
      void receiver.exited.then((message) => (gone = message));
      const stopped = new Promise<void>((resolve) => {
        signal.addEventListener("abort", () => resolve(), { once: true });
        void receiver.exited.then(() => resolve());
      });
      while (!signal.aborted && gone === undefined) {
        await pass(context, archive, receiver, settings, state);
        if (state.segmentsArchived > 0 || state.headsStored > 0) pauseMs = 1000;
        await Promise.race([pause(settings.intervalMs, signal), stopped]);
      }
      // The receiver's last words go to the archive too: flushed before it left, stored now.
      context.log.debug(`wal-stream ${sourceName}: stopping the receiver`);
      await receiver.stop();
      context.log.debug(`wal-stream ${sourceName}: receiver stopped; a last pass`);
      await pass(context, archive, receiver, settings, state);
      if (!signal.aborted) {
        context.log.warn(`wal-stream ${sourceName}: ${gone}; starting it again in ${pauseMs / 1000}s`);
        await pause(pauseMs, signal);
        pauseMs = Math.min(pauseMs * 2, MAX_RESTART_PAUSE_MS);
      }
    }
  });
  return {
    slot: settings.slot,
    segmentsArchived: state.segmentsArchived,
    headsStored: state.headsStored,
    streamedUpTo: state.head ? formatLsn(state.head.upTo) : null,
  };
}

/** One pass over the receiver's directory; a failure to store is logged and retried at the next pass. */
async function pass(
  context: OperationContext,
  archive: WalArchive,
  receiver: WalReceiver,
  settings: WalStreamSettings,
  state: StreamState,
): Promise<void> {
  try {
    // Read the position first: the files read after it hold at least that much.
    state.flushed = (await receiver.flushed()) ?? state.flushed;
    const names = (await readdir(settings.dir)).sort();
    const finished = names.filter((name) => {
      const kind = parseWalFileName(name)?.kind;
      return kind === "segment" || kind === "history";
    });
    for (const name of finished) {
      if (state.archived.has(name) || state.conflicts.has(name)) continue;
      await archiveFinished(context, archive, join(settings.dir, name), name, state);
    }
    // pg_receivewal starts after the newest segment it finds: keep that one, remove the rest.
    const segments = finished.filter((name) => parseWalFileName(name)?.kind === "segment");
    for (const name of segments.slice(0, -1)) {
      if (state.archived.has(name)) await rm(join(settings.dir, name), { force: true });
    }
    const partial = names.filter((name) => parseWalFileName(name)?.kind === "partial").at(-1);
    if (partial) await storeHead(context, archive, receiver, join(settings.dir, partial), state);
  } catch (error) {
    if (!isLifeboatError(error) && !isFileError(error)) throw error;
    context.log.warn(`wal-stream ${archive.source}: ${(error as Error).message}; retrying`);
  }
}

async function archiveFinished(
  context: OperationContext,
  archive: WalArchive,
  path: string,
  name: string,
  state: StreamState,
): Promise<void> {
  const data = await readFile(path);
  try {
    const result = await archive.push(name, data, context.now());
    if (result.outcome === "stored") state.segmentsArchived++;
  } catch (error) {
    if (!isLifeboatError(error, "WAL_CONFLICT")) throw error;
    // The archive's copy stays; the operator is told once, as archive_command's would fail.
    state.conflicts.add(name);
    context.log.error(`wal-stream ${archive.source}: ${error.message}`);
    return;
  }
  state.archived.add(name);
  // A whole segment replaces its head.
  if (parseWalFileName(name)?.kind === "segment") {
    await archive.delete(streamHeadName(name)).catch(() => {});
    if (state.head?.segment === name) state.head = undefined;
  }
}

async function storeHead(
  context: OperationContext,
  archive: WalArchive,
  receiver: WalReceiver,
  path: string,
  state: StreamState,
): Promise<void> {
  const flushed = state.flushed;
  const segment = parseWalFileName(path.slice(path.lastIndexOf("/") + 1))!.segment!;
  const number = segmentNumberOfName(segment, receiver.segmentSize);
  // Only a position inside this segment says how much of it is WAL; past it, the segment is finishing.
  if (flushed === undefined || segmentNumberOf(flushed, receiver.segmentSize) !== number) return;
  if (state.head?.segment === segment && state.head.upTo >= flushed) return;
  if (state.archived.has(segment)) return;
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return; // finished meanwhile: next pass
    throw error;
  }
  await archive.writeHead(segment, data, formatLsn(flushed), context.now());
  state.head = { segment, upTo: flushed };
  state.headsStored++;
}

function isFileError(error: unknown): boolean {
  return typeof (error as NodeJS.ErrnoException | undefined)?.code === "string";
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
