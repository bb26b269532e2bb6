// `check` for WAL archives: for every cluster with base backups, the chain of
// segments from each base backup to the newest archived one must be whole
// (a gap is named by its first missing segment), and the archive's state is
// reported: newest segment, when it arrived, how much WAL is kept since the
// oldest base backup. With --read-data(-subset), that share of the WAL
// objects is read back and verified too.

import type { Engine, PitrSupport } from "../engines/engine.ts";
import type { SourceConfig } from "../engines/config.ts";
import type { LifeboatError } from "../errors.ts";
import { isLifeboatError } from "../errors.ts";
import { formatLsn, parseWalFileName, segmentNumberOfName, type BaseBackup } from "../domain/wal.ts";
import { planRecovery } from "../plan/pitr.ts";
import type { CheckProblem } from "../repository/types.ts";
import type { OperationContext } from "./context.ts";
import { readArchiveState } from "./wal.ts";

export interface WalArchiveReport {
  readonly source: string;
  readonly systemId: string;
  readonly baseBackups: number;
  readonly segments: number;
  readonly newestSegment: string | null;
  readonly newestArchivedAt: string | null;
  /** Seconds since the newest segment arrived (archive lag as seen from the repository). */
  readonly newestAgeSeconds: number | null;
  /** Segments kept from the oldest base backup's start on. */
  readonly segmentsSinceOldestBackup: number;
  /** wal-stream: the LSN the newest stream head reaches (past the newest whole segment), else null. */
  readonly streamedUpTo: string | null;
  readonly objectsRead: number;
  readonly problems: readonly CheckProblem[];
}

export async function checkWalArchives(
  context: OperationContext,
  options: { readonly readDataPercent: number },
): Promise<WalArchiveReport[]> {
  const snapshots = await context.repository.listSnapshots();
  const clusters = new Map<string, { source: string; systemId: string; backups: BaseBackup[] }>();
  for (const snapshot of snapshots) {
    let engine: Engine;
    try {
      engine = context.engineFor(snapshot.engine);
    } catch {
      continue; // an engine this build lacks: the snapshot check reports it
    }
    const backup = (engine.pitr as PitrSupport<SourceConfig> | undefined)?.baseBackupOf(snapshot);
    if (!backup) continue;
    const key = `${snapshot.source}/${backup.systemId}`;
    const entry = clusters.get(key) ?? { source: snapshot.source, systemId: backup.systemId, backups: [] };
    entry.backups.push(backup);
    clusters.set(key, entry);
  }
  const reports: WalArchiveReport[] = [];
  for (const { source, systemId, backups } of clusters.values()) {
    context.signal?.throwIfAborted();
    reports.push(await checkCluster(context, source, systemId, backups, options.readDataPercent));
  }
  return reports;
}

async function checkCluster(
  context: OperationContext,
  source: string,
  systemId: string,
  backups: readonly BaseBackup[],
  readDataPercent: number,
): Promise<WalArchiveReport> {
  const archive = context.repository.walArchive(source, systemId);
  const segmentSize = backups[0]!.segmentSize;
  const problems: CheckProblem[] = [];
  let state: Awaited<ReturnType<typeof readArchiveState>>;
  try {
    state = await readArchiveState(archive, segmentSize);
  } catch (error) {
    if (!isLifeboatError(error)) throw error;
    const object = typeof error.details["object"] === "string" ? error.details["object"] : archive.keyOf("");
    problems.push({
      code: codeOf(error),
      object,
      message: error.message,
      snapshots: backups.map((b) => b.id),
    });
    return { ...emptyReport(source, systemId, backups.length), problems };
  }
  const segments = [...state.names].filter((name) => parseWalFileName(name)?.kind === "segment");
  for (const backup of backups) {
    try {
      planRecovery({ backups: [backup], archive: state, target: { kind: "latest" } });
    } catch (error) {
      if (!isLifeboatError(error, "WAL_GAP")) throw error;
      const missing = String((error as LifeboatError).details["missing"]);
      problems.push({
        code: "WAL_GAP",
        object: archive.keyOf(missing),
        message: `WAL segment ${missing} is missing: base backup ${backup.id.slice(0, 8)} cannot recover past it`,
        snapshots: [backup.id],
      });
    }
  }
  const objectsRead = await readBack(archive, [...state.names], readDataPercent, problems);
  const newest = [...state.newestPushedAt.entries()].sort(([a], [b]) => b - a)[0];
  const newestName = newestSegmentName(segments, segmentSize);
  const newestHead = [...(state.heads?.values() ?? [])].sort((a, b) => (a.upTo < b.upTo ? 1 : -1))[0];
  const oldestStart = backups.reduce((a, b) => (a.startLsn < b.startLsn ? a : b));
  const oldestNumber = oldestStart.startLsn / BigInt(segmentSize);
  return {
    source,
    systemId,
    baseBackups: backups.length,
    segments: segments.length,
    newestSegment: newestName ?? null,
    newestArchivedAt: newest ? newest[1].toISOString() : null,
    newestAgeSeconds: newest ? Math.max(0, (context.now().getTime() - newest[1].getTime()) / 1000) : null,
    segmentsSinceOldestBackup: segments.filter(
      (name) => segmentNumberOfName(name, segmentSize) >= oldestNumber,
    ).length,
    streamedUpTo: newestHead ? formatLsn(newestHead.upTo) : null,
    objectsRead,
    problems,
  };
}

function newestSegmentName(segments: readonly string[], segmentSize: number): string | undefined {
  let best: string | undefined;
  for (const name of segments) {
    if (!best) best = name;
    const [a, b] = [segmentNumberOfName(name, segmentSize), segmentNumberOfName(best, segmentSize)];
    if (a > b || (a === b && name > best)) best = name;
  }
  return best;
}

/** Read back `percent` of the WAL objects (every one at 100), each authenticated and re-hashed. */
async function readBack(
  archive: ReturnType<OperationContext["repository"]["walArchive"]>,
  names: readonly string[],
  percent: number,
  problems: CheckProblem[],
): Promise<number> {
  if (percent <= 0) return 0;
  const chosen = percent >= 100 ? names : names.filter(() => Math.random() * 100 < percent);
  for (const name of chosen) {
    try {
      await archive.read(name);
    } catch (error) {
      if (!isLifeboatError(error)) throw error;
      problems.push({
        code: codeOf(error),
        object: archive.keyOf(name),
        message: error.message,
        snapshots: [],
      });
    }
  }
  return chosen.length;
}

function codeOf(error: LifeboatError): CheckProblem["code"] {
  return error.code === "OBJECT_TRUNCATED" || error.code === "OBJECT_MISSING"
    ? error.code
    : "CHECKSUM_MISMATCH";
}

function emptyReport(
  source: string,
  systemId: string,
  baseBackups: number,
): Omit<WalArchiveReport, "problems"> {
  return {
    source,
    systemId,
    baseBackups,
    segments: 0,
    newestSegment: null,
    newestArchivedAt: null,
    newestAgeSeconds: null,
    segmentsSinceOldestBackup: 0,
    streamedUpTo: null,
    objectsRead: 0,
  };
}
