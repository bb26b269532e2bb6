// What restores kept instead of destroying (issue 16, "keep what a restore
// replaces"): a `--clean`/`--force` restore moves the old target aside under
// a `pre_restore` name, `restore --undo` swaps it back (moving the restored
// data aside under `pre_undo`), and `preserved drop` removes one. Each of
// those runs says what it kept and what it released in its run record, so
// the copies still outstanding are a fold over the run records: `status`
// and `preserved` list them, on every host that shares the repository.

import type { RunRecord } from "./run-record.ts";

/** The data a restore (or an undo) moved aside instead of destroying it. */
export interface PreservedCopy {
  /**
   * "database": a database on the target's server; "path": a file or
   * directory beside the target; "snapshot": a snapshot of the target taken
   * before the restore, where the engine cannot rename it aside (Redis, NATS).
   */
  readonly kind: "database" | "path" | "snapshot";
  /** The database's name, the absolute path, or the snapshot's id. */
  readonly location: string;
  /** What it holds when that is less than the whole old target (MariaDB: its tables). */
  readonly note?: string;
}

/** A kept copy as the repository records it. */
export interface PreservedRecord extends PreservedCopy {
  /** Short and stable: what `preserved drop ID` and the listings use. */
  readonly id: string;
  readonly source: string;
  readonly engine: string;
  /** The target it was kept beside, without credentials (a URL's password is never recorded). */
  readonly target: string;
  /** ISO-8601. */
  readonly keptAt: string;
  /** A restore replaced it, or an undo moved the restored data aside. */
  readonly by: "restore" | "undo";
}

/** What one run did to preserved copies (RunRecord.preserved). */
export interface PreservedChanges {
  readonly kept: readonly PreservedRecord[];
  /** Ids of copies this run swapped back or dropped. */
  readonly released: readonly string[];
}

/** `YYYYMMDD_HHMMSS` in UTC: sorts by time and is a valid part of database and file names. */
export function preserveStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d+Z$/, "")
    .replace(/[-:]/g, "")
    .replace("T", "_");
}

/** The copies kept and not yet released, oldest first. */
export function outstandingPreserved(records: readonly RunRecord[]): PreservedRecord[] {
  const ordered = [...records].sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  const kept = new Map<string, PreservedRecord>();
  for (const record of ordered) {
    for (const id of record.preserved?.released ?? []) kept.delete(id);
    for (const copy of record.preserved?.kept ?? []) kept.set(copy.id, copy);
  }
  return [...kept.values()].sort((a, b) => a.keptAt.localeCompare(b.keptAt));
}
