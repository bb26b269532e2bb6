// PostgreSQL's write-ahead log as Lifeboat reasons about it: file names,
// log sequence numbers, timelines and their history files. Pure functions,
// shared by the archive (wal-push / wal-fetch), the PITR planner, check and
// retention. The rules are PostgreSQL's own (xlog_internal.h):
//
//   segment   TTTTTTTTLLLLLLLLSSSSSSSS      timeline, log id, segment in log
//   partial   <segment>.partial             the last, unfinished segment of a timeline
//   history   TTTTTTTT.history              how timeline T branched off its parent
//   backup    <segment>.OOOOOOOO.backup     a base backup's start/stop facts
//
// An LSN "X/Y" is the 64-bit byte position (X << 32) | Y. With segments of
// `segmentSize` bytes, the segment holding an LSN is lsn / segmentSize, and
// its name splits that number into (log id, segment in log) with
// 2^32 / segmentSize segments per log id.

import { LifeboatError } from "../errors.ts";

export const DEFAULT_WAL_SEGMENT_SIZE = 16 * 1024 * 1024;

export type WalFileKind = "segment" | "partial" | "history" | "backup";

export interface WalFileName {
  readonly name: string;
  readonly kind: WalFileKind;
  readonly timeline: number;
  /** The segment's 24-hex name (segments, partial segments, backup history files). */
  readonly segment?: string;
}

const SEGMENT = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
const PARTIAL = /^([0-9A-F]{24})\.partial$/;
const HISTORY = /^([0-9A-F]{8})\.history$/;
const BACKUP = /^([0-9A-F]{24})\.([0-9A-F]{8})\.backup$/;

/** What a file name in pg_wal means, or undefined for a name that is not a WAL file. */
export function parseWalFileName(name: string): WalFileName | undefined {
  let match = SEGMENT.exec(name);
  if (match) return { name, kind: "segment", timeline: parseInt(match[1]!, 16), segment: name };
  match = PARTIAL.exec(name);
  if (match) return { name, kind: "partial", timeline: parseInt(name.slice(0, 8), 16), segment: match[1]! };
  match = HISTORY.exec(name);
  if (match) return { name, kind: "history", timeline: parseInt(match[1]!, 16) };
  match = BACKUP.exec(name);
  if (match) return { name, kind: "backup", timeline: parseInt(name.slice(0, 8), 16), segment: match[1]! };
  return undefined;
}

/**
 * The streamed head of a segment (wal-stream): the part of the newest, still
 * unfinished segment that pg_receivewal has flushed, stored as
 * `<segment>.head` and replaced as it grows. Not a PostgreSQL name: it never
 * comes from %f, and recovery reads it only in place of a segment the
 * archive does not hold yet.
 */
const STREAM_HEAD = /^([0-9A-F]{24})\.head$/;

export function streamHeadName(segment: string): string {
  return `${segment}.head`;
}

/** The segment a stream head stands in for, or undefined for any other name. */
export function segmentOfStreamHead(name: string): string | undefined {
  return STREAM_HEAD.exec(name)?.[1];
}

/** The WAL file name, or BAD_ARGUMENT saying what a WAL file name looks like. */
export function requireWalFileName(name: string): WalFileName {
  const parsed = parseWalFileName(name);
  if (!parsed) {
    throw new LifeboatError("BAD_ARGUMENT", `${JSON.stringify(name)} is not a WAL file name`, {
      hint: "PostgreSQL passes names such as 000000010000000000000003, 00000002.history, 000000010000000000000003.partial or 000000010000000000000003.00000028.backup (%f).",
    });
  }
  return parsed;
}

/** "16/B374D848" as a 64-bit position. */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!match) {
    throw new LifeboatError("BAD_ARGUMENT", `${JSON.stringify(text)} is not an LSN`, {
      hint: "An LSN looks like 0/3000028 (as pg_current_wal_lsn() prints it).",
    });
  }
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

function hex8(value: number | bigint): string {
  return value.toString(16).toUpperCase().padStart(8, "0");
}

function segmentsPerLog(segmentSize: number): bigint {
  return 0x100000000n / BigInt(segmentSize);
}

/** The number of the segment holding `lsn`. */
export function segmentNumberOf(lsn: bigint, segmentSize: number): bigint {
  return lsn / BigInt(segmentSize);
}

export function segmentName(timeline: number, segmentNumber: bigint, segmentSize: number): string {
  const perLog = segmentsPerLog(segmentSize);
  return hex8(timeline) + hex8(segmentNumber / perLog) + hex8(segmentNumber % perLog);
}

/** The segment number a 24-hex segment name stands for. */
export function segmentNumberOfName(name: string, segmentSize: number): bigint {
  const match = SEGMENT.exec(name.slice(0, 24));
  if (!match) throw new LifeboatError("INTERNAL", `${name} is not a segment name`);
  return BigInt(`0x${match[2]}`) * segmentsPerLog(segmentSize) + BigInt(`0x${match[3]}`);
}

export function historyFileName(timeline: number): string {
  return `${hex8(timeline)}.history`;
}

/** One line of a timeline history file: the parent timeline and where the child branched off it. */
export interface TimelineSwitch {
  readonly parent: number;
  /** The first LSN that belongs to the child timeline. */
  readonly switchLsn: bigint;
}

/**
 * The ancestry of a timeline, oldest first, from its history file (lines of
 * "parentTLI<TAB>switchpoint<TAB>reason"; comments and blank lines skipped).
 */
export function parseHistoryFile(text: string): TimelineSwitch[] {
  const switches: TimelineSwitch[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const [parent, lsn] = trimmed.split(/\s+/);
    if (!parent || !lsn || !/^\d+$/.test(parent)) {
      throw new LifeboatError(
        "CHECKSUM_MISMATCH",
        `timeline history line ${JSON.stringify(line)} is malformed`,
      );
    }
    switches.push({ parent: Number(parent), switchLsn: parseLsn(lsn) });
  }
  return switches;
}

/**
 * The LSNs of a base backup's history file (<segment>.<offset>.backup), as
 * PostgreSQL wrote them. Its times are in the server's log_timezone, often
 * an abbreviation such as CET, so Lifeboat takes times from the server's
 * clock over SQL instead.
 */
export interface BackupHistory {
  readonly startLsn: bigint;
  readonly stopLsn: bigint;
  readonly startTimeline: number;
  readonly stopTimeline: number;
  readonly label: string;
}

export function parseBackupHistory(text: string): BackupHistory {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(": ");
    if (colon > 0) fields.set(line.slice(0, colon).trim(), line.slice(colon + 2).trim());
  }
  const field = (name: string): string => {
    const value = fields.get(name);
    if (value === undefined) {
      throw new LifeboatError("CHECKSUM_MISMATCH", `backup history file has no ${name} line`);
    }
    return value;
  };
  // "0/2000028 (file 000000010000000000000002)"
  const lsnOf = (name: string) => parseLsn(field(name).split(" ")[0]!);
  return {
    startLsn: lsnOf("START WAL LOCATION"),
    stopLsn: lsnOf("STOP WAL LOCATION"),
    startTimeline: Number(field("START TIMELINE")),
    stopTimeline: Number(field("STOP TIMELINE")),
    label: fields.get("LABEL") ?? "",
  };
}

/** The start LSN and timeline a backup_label file names (its first lines). */
export function parseBackupLabel(text: string): { startLsn: bigint; timeline: number; startSegment: string } {
  const start = /^START WAL LOCATION: ([0-9A-F]+\/[0-9A-F]+) \(file ([0-9A-F]{24})\)$/m.exec(text);
  const timeline = /^START TIMELINE: (\d+)$/m.exec(text);
  if (!start || !timeline) throw new LifeboatError("SOURCE_TOOL_FAILED", "backup_label is malformed");
  return { startLsn: parseLsn(start[1]!), timeline: Number(timeline[1]), startSegment: start[2]! };
}

/** One cluster's WAL archive as engines see it (the repository implements it). */
export interface WalFiles {
  /** Every archived file name, unordered. */
  list(): Promise<string[]>;
  /** A file's bytes, or undefined when it is not archived. */
  read(name: string): Promise<Buffer | undefined>;
}

/** Where a point-in-time recovery stops (PostgreSQL's recovery_target_* settings). */
export type RecoveryTarget =
  | {
      readonly kind: "time";
      readonly time: Date;
      /** The moment in PostgreSQL's notation with its full precision (Date keeps milliseconds only). */
      readonly text: string;
    }
  | { readonly kind: "lsn"; readonly lsn: bigint }
  | { readonly kind: "name"; readonly name: string }
  | { readonly kind: "xid"; readonly xid: string }
  | { readonly kind: "immediate" }
  | { readonly kind: "latest" };

/** What the server does once it reached the target (recovery_target_action). */
export type RecoveryAction = "promote" | "pause" | "shutdown";

/** A physical snapshot's facts, as recovery planning needs them. */
export interface BaseBackup {
  /** The snapshot id. */
  readonly id: string;
  readonly systemId: string;
  readonly timeline: number;
  readonly startLsn: bigint;
  readonly stopLsn: bigint;
  /** Server clock; the backup was consistent no later than this. */
  readonly stopTime: Date;
  readonly segmentSize: number;
}
