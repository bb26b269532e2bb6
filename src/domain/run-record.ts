// The run record: what one backup, drill, check, prune or forget did, success
// or failure, kept in the repository (docs/repository-format.md, "Run
// records") so `status`, metrics and the dashboard see failures too, not only
// the snapshots that successful runs leave behind.

import type { PreservedChanges } from "./preserved.ts";

export const RUN_RECORD_SCHEMA = "lifeboat.run-record/v1";

export type RunOperation = "backup" | "drill" | "check" | "prune" | "forget" | "restore" | "undo" | "discard";

export const RUN_OPERATIONS: readonly RunOperation[] = [
  "backup",
  "drill",
  "check",
  "prune",
  "forget",
  "restore",
  "undo",
  "discard",
];

export type RunOutcome = "succeeded" | "failed";

export interface RunRecord {
  readonly schema: typeof RUN_RECORD_SCHEMA;
  /** `YYYYMMDDTHHMMSSZ-<hex>`: sorts by start time, like drill report ids. */
  readonly id: string;
  readonly operation: RunOperation;
  /** The source the run was about; null for repository-wide runs (check, prune). */
  readonly source: string | null;
  readonly outcome: RunOutcome;
  /** ISO-8601, this host's clock. */
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly seconds: number;
  readonly hostname: string;
  readonly lifeboatVersion: string;
  /** Bytes read from the source (backup) or restored (drill, restore); null when not measured. */
  readonly bytesRead: number | null;
  /** New bytes the repository stored (backup), or freed (prune); null when not measured. */
  readonly bytesStored: number | null;
  /** The snapshot a backup made, or a drill/restore used. */
  readonly snapshot: string | null;
  /** Drills: the drill report's id and status (passed, objective_missed, ...). */
  readonly drill: { readonly report: string; readonly status: string } | null;
  /** Failures: the stable error code and its redacted message. */
  readonly error: { readonly code: string; readonly message: string } | null;
  /** Restores, undos and `preserved drop`: the copies of replaced data kept and released (domain/preserved.ts). */
  readonly preserved?: PreservedChanges;
}
