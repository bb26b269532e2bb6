// Point-in-time recovery planning, pure: given the base backups of one
// cluster, what its WAL archive holds and a recovery target, choose the
// base backup to start from and the exact WAL files recovery will read, or
// refuse before anything is written, saying what is reachable.
//
// The rules follow PostgreSQL's recovery:
// - a base backup is usable once it is consistent, at its stop LSN (and, on
//   the server's clock, its stop time), so a target before that needs an
//   older base backup;
// - recovery follows the target timeline's history: segment s is read from
//   the newest timeline on the path that had begun by s (a timeline begins
//   in the segment holding its switch point, where the new timeline's copy
//   of that segment replaces the parent's);
// - every segment from the backup's start to the last one recovery reads
//   must be archived: a missing one in between is a gap, after which nothing
//   is reachable from that backup.

import {
  formatLsn,
  historyFileName,
  parseWalFileName,
  segmentName,
  segmentNumberOf,
  segmentNumberOfName,
  type BaseBackup,
  type RecoveryTarget,
  type TimelineSwitch,
} from "../domain/wal.ts";
import { LifeboatError } from "../errors.ts";

/** What the cluster's WAL archive holds. */
export interface ArchiveState {
  readonly names: ReadonlySet<string>;
  /** Parsed history files by timeline (timelines without one have no parent). */
  readonly histories: ReadonlyMap<number, readonly TimelineSwitch[]>;
  /** When the newest segment (or stream head) of each timeline was archived (an upper bound of the time its WAL reaches). */
  readonly newestPushedAt: ReadonlyMap<number, Date>;
  /** By segment name: the streamed head of a timeline's newest segment, past its newest archived one (wal-stream). */
  readonly heads?: ReadonlyMap<string, StreamHead>;
}

/** The streamed part of a segment that is not archived whole yet. */
export interface StreamHead {
  readonly segment: string;
  /** Its bytes are WAL the server had flushed up to this LSN. */
  readonly upTo: bigint;
  readonly pushedAt: Date;
}

export interface RecoveryPlan {
  readonly backup: BaseBackup;
  readonly target: RecoveryTarget;
  /** The timeline recovery ends on. */
  readonly timeline: number;
  /** Every segment recovery reads, in order (history files first). */
  readonly walFiles: readonly string[];
  /** The newest segment the plan needs (or may read, for targets found during replay). */
  readonly lastSegment: string;
  /** What the archive can reach, for messages: "from ... to ...". */
  readonly reachable: string;
}

interface TimelineSpan {
  readonly timeline: number;
  /** First segment number read from this timeline. */
  readonly from: bigint;
  /** Last segment number read from it (undefined: up to the newest archived). */
  readonly to: bigint | undefined;
}

export function describeTarget(target: RecoveryTarget): string {
  switch (target.kind) {
    case "time":
      return `time ${target.time.toISOString()}`;
    case "lsn":
      return `LSN ${formatLsn(target.lsn)}`;
    case "name":
      return `restore point ${JSON.stringify(target.name)}`;
    case "xid":
      return `transaction ${target.xid}`;
    case "immediate":
      return "the end of the base backup (immediate)";
    case "latest":
      return "the end of the archived WAL (latest)";
  }
}

/** The timeline path (oldest first) that ends on `timeline`, with the segment where each begins. */
function timelinePath(
  timeline: number,
  archive: ArchiveState,
  segmentSize: number,
): { timeline: number; beginsAt: bigint; endsBefore: bigint | undefined }[] {
  const switches = archive.histories.get(timeline) ?? [];
  const path: { timeline: number; beginsAt: bigint; endsBefore: bigint | undefined }[] = [];
  let begins = 0n;
  for (const step of switches) {
    path.push({ timeline: step.parent, beginsAt: begins, endsBefore: step.switchLsn });
    begins = segmentNumberOf(step.switchLsn, segmentSize);
  }
  path.push({ timeline, beginsAt: begins, endsBefore: undefined });
  return path;
}

/** The highest timeline whose history contains `timeline` (PostgreSQL's recovery_target_timeline = latest). */
function latestTimeline(from: number, archive: ArchiveState): number {
  let best = from;
  for (const [timeline, switches] of archive.histories) {
    if (timeline > best && switches.some((step) => step.parent === from)) best = timeline;
  }
  return best;
}

function newestSegmentNumber(
  archive: ArchiveState,
  timeline: number,
  segmentSize: number,
): bigint | undefined {
  let newest: bigint | undefined;
  for (const name of [...archive.names, ...(archive.heads?.keys() ?? [])]) {
    const parsed = parseWalFileName(name);
    if (parsed?.kind !== "segment" || parsed.timeline !== timeline) continue;
    const number = segmentNumberOfName(name, segmentSize);
    if (newest === undefined || number > newest) newest = number;
  }
  return newest;
}

/** The segments read from each timeline, from the backup's start to `lastNumber`. */
function spansOf(
  backup: BaseBackup,
  path: ReturnType<typeof timelinePath>,
  lastNumber: bigint,
): TimelineSpan[] {
  const start = segmentNumberOf(backup.startLsn, backup.segmentSize);
  const onPath = path.findIndex((step) => step.timeline === backup.timeline);
  const spans: TimelineSpan[] = [];
  for (let index = onPath; index < path.length; index++) {
    const step = path[index]!;
    const next = path[index + 1];
    const from = index === onPath ? start : step.beginsAt;
    const to = next ? next.beginsAt - 1n : lastNumber;
    const end = to < lastNumber ? to : lastNumber;
    if (end >= from) spans.push({ timeline: step.timeline, from, to: end });
    if (to >= lastNumber) break;
  }
  return spans;
}

function candidateError(message: string, reachable: string, details: Record<string, unknown> = {}) {
  return new LifeboatError("PITR_TARGET_UNREACHABLE", `${message}; reachable: ${reachable}`, {
    details: { ...details, reachable },
  });
}

/**
 * Choose a base backup and the WAL to reach `target`, newest backup first.
 * `chosen` restricts the choice to one base backup (--snapshot).
 */
export function planRecovery(input: {
  readonly backups: readonly BaseBackup[];
  readonly archive: ArchiveState;
  readonly target: RecoveryTarget;
  readonly targetTimeline?: number;
  readonly chosen?: string;
}): RecoveryPlan {
  const { archive, target } = input;
  const backups = [...input.backups]
    .filter((backup) => input.chosen === undefined || backup.id === input.chosen)
    .sort((a, b) => (a.stopLsn === b.stopLsn ? 0 : a.stopLsn < b.stopLsn ? 1 : -1));
  if (backups.length === 0) {
    throw new LifeboatError(
      "SNAPSHOT_NOT_FOUND",
      "there is no physical base backup of this source to recover from",
      { hint: "Take one with `lifeboat backup SOURCE` (mode: physical), then restore." },
    );
  }
  const reachable = describeReachable(backups, archive);
  let firstFailure: LifeboatError | undefined;
  for (const backup of backups) {
    try {
      return planFrom(backup, input, reachable);
    } catch (error) {
      if (!(error instanceof LifeboatError)) throw error;
      firstFailure ??= error;
    }
  }
  // Every base backup was tried: the newest one's reason is the most telling.
  if (target.kind === "time" && backups.every((backup) => backup.stopTime > target.time)) {
    const oldest = backups.at(-1)!;
    throw candidateError(
      `${describeTarget(target)} is before the oldest base backup became consistent (${oldest.stopTime.toISOString()}, snapshot ${oldest.id.slice(0, 8)})`,
      reachable,
    );
  }
  if (target.kind === "lsn" && backups.every((backup) => backup.stopLsn > target.lsn)) {
    const oldest = backups.at(-1)!;
    throw candidateError(
      `${describeTarget(target)} is before the oldest base backup became consistent (LSN ${formatLsn(oldest.stopLsn)}, snapshot ${oldest.id.slice(0, 8)})`,
      reachable,
    );
  }
  throw firstFailure!;
}

function planFrom(
  backup: BaseBackup,
  input: Parameters<typeof planRecovery>[0],
  reachable: string,
): RecoveryPlan {
  const { archive, target } = input;
  const size = backup.segmentSize;
  if (target.kind === "time" && backup.stopTime > target.time) {
    throw candidateError(
      `${describeTarget(target)} is before base backup ${backup.id.slice(0, 8)} became consistent`,
      reachable,
    );
  }
  if (target.kind === "lsn" && backup.stopLsn > target.lsn) {
    throw candidateError(
      `${describeTarget(target)} is before base backup ${backup.id.slice(0, 8)} became consistent`,
      reachable,
    );
  }
  const timeline =
    target.kind === "immediate"
      ? backup.timeline
      : (input.targetTimeline ?? latestTimeline(backup.timeline, archive));
  const path = timelinePath(timeline, archive, size);
  const onPath = path.find((step) => step.timeline === backup.timeline);
  if (!onPath || (onPath.endsBefore !== undefined && onPath.endsBefore < backup.stopLsn)) {
    throw candidateError(
      `base backup ${backup.id.slice(0, 8)} (timeline ${backup.timeline}) is not on the history of timeline ${timeline}`,
      reachable,
    );
  }
  const newest = newestSegmentNumber(archive, timeline, size);
  const stopNumber = segmentNumberOf(backup.stopLsn, size);
  let last: bigint;
  if (target.kind === "immediate") {
    last = stopNumber;
  } else if (target.kind === "lsn") {
    last = segmentNumberOf(target.lsn, size);
    const newestOnTarget = newest ?? stopNumber;
    if (last > newestOnTarget) {
      throw candidateError(
        `${describeTarget(target)} is past the newest archived WAL (segment ${segmentName(timeline, newestOnTarget, size)})`,
        reachable,
      );
    }
    const head = archive.heads?.get(segmentName(timeline, last, size));
    if (head && target.lsn > head.upTo) {
      throw candidateError(
        `${describeTarget(target)} is past the newest streamed WAL (LSN ${formatLsn(head.upTo)})`,
        reachable,
      );
    }
  } else {
    last = newest ?? stopNumber;
    if (last < stopNumber) last = stopNumber;
    if (target.kind === "time") {
      const pushedAt = archive.newestPushedAt.get(timeline);
      if (pushedAt && target.time > pushedAt) {
        throw candidateError(
          `${describeTarget(target)} is past the newest archived WAL (segment ${segmentName(timeline, last, size)}, archived ${pushedAt.toISOString()})`,
          reachable,
        );
      }
    }
  }

  const spans = spansOf(backup, path, last);
  const segments: string[] = [];
  for (const span of spans) {
    for (let number = span.from; number <= span.to!; number++)
      segments.push(segmentName(span.timeline, number, size));
  }
  // A stream head stands in for the last segment only: before it, every segment must be whole.
  const missing = segments.find(
    (name, index) => !archive.names.has(name) && !(index === segments.length - 1 && archive.heads?.has(name)),
  );
  if (missing) {
    throw new LifeboatError(
      "WAL_GAP",
      `recovering ${describeTarget(target)} from base backup ${backup.id.slice(0, 8)} needs WAL segment ${missing}, which is not in the archive; reachable: ${reachable}`,
      { details: { missing, snapshot: backup.id, reachable } },
    );
  }
  const histories = path
    .map((step) => step.timeline)
    .filter((number) => number !== 1 && archive.names.has(historyFileName(number)))
    .map(historyFileName);
  return {
    backup,
    target,
    timeline,
    walFiles: [...histories, ...segments],
    lastSegment: segments.at(-1)!,
    reachable,
  };
}

function describeReachable(backups: readonly BaseBackup[], archive: ArchiveState): string {
  const oldest = backups.reduce((a, b) => (a.stopLsn < b.stopLsn ? a : b));
  const newestStop = backups.reduce((a, b) => (a.stopTime > b.stopTime ? a : b)).stopTime;
  let newestTime: Date | undefined;
  for (const time of archive.newestPushedAt.values()) if (!newestTime || time > newestTime) newestTime = time;
  // A push time is Lifeboat's clock; a backup's end the server's. The segment a backup ends in is
  // archived while the backup finishes, so with nothing archived since, the push comes first.
  const until =
    newestTime === undefined
      ? "the newest archived WAL"
      : newestTime > newestStop
        ? `about ${newestTime.toISOString()} (newest archived WAL)`
        : `${newestStop.toISOString()} (the end of the newest base backup; no WAL archived since)`;
  return `from ${oldest.stopTime.toISOString()} (LSN ${formatLsn(oldest.stopLsn)}, end of base backup ${oldest.id.slice(0, 8)}) to ${until}`;
}
