// The answer to "are we recoverable right now, within our objectives?":
// what `lifeboat status --json`, /healthz/backup, the metrics and the
// dashboard are all rendered from (plan/status.ts computes it).

import type { PreservedRecord } from "./preserved.ts";

/** Worst first: a source's verdict is the worst that applies. */
export type Verdict = "failing" | "stale" | "never_drilled" | "ok";

export const VERDICT_ORDER: readonly Verdict[] = ["failing", "stale", "never_drilled", "ok"];

export interface RunSummary {
  /** The run record's id, or the snapshot id when a backup left a snapshot but no record (older repositories). */
  readonly id: string;
  readonly at: string;
  readonly seconds: number | null;
  readonly errorCode: string | null;
  readonly message: string | null;
}

export interface DrillSummary {
  readonly report: string;
  readonly at: string;
  readonly status: string;
  readonly ageSeconds: number;
  readonly rto: {
    readonly objective: number | null;
    readonly achieved: number | null;
    readonly met: boolean | null;
  };
  readonly rpo: {
    readonly objective: number | null;
    readonly achieved: number | null;
    readonly met: boolean | null;
  };
  /** The drill's prediction of a restore of the source as it is now; null when it made none. */
  readonly predictedRtoSeconds: number | null;
}

export interface WalStatus {
  /** The newest archived WAL file, and when it arrived; null when none is archived. */
  readonly newest: string | null;
  readonly newestAt: string | null;
  /** now - newestAt: how much WAL a disaster now would lose at most, while the source writes. */
  readonly ageSeconds: number | null;
  readonly files: number;
}

export interface SourceStatus {
  readonly source: string;
  readonly engine: string;
  readonly verdict: Verdict;
  /** Why, in words, one line per reason (empty when ok). */
  readonly reasons: readonly string[];
  readonly objectives: {
    readonly rtoSeconds: number | null;
    readonly rpoSeconds: number | null;
    readonly drillIntervalSeconds: number | null;
  };
  readonly lastBackup:
    | (RunSummary & { readonly snapshot: string; readonly ageSeconds: number; readonly bytes: number | null })
    | null;
  readonly lastFailedBackup: RunSummary | null;
  readonly lastDrill: DrillSummary | null;
  readonly lastPassedDrill: {
    readonly report: string;
    readonly at: string;
    readonly ageSeconds: number;
  } | null;
  /** Point-in-time sources: the WAL archive's freshness; null for the others. */
  readonly wal: WalStatus | null;
  readonly snapshots: number;
  /** Successes and failures per operation in the run records read. */
  readonly runs: Readonly<Record<string, { readonly succeeded: number; readonly failed: number }>>;
}

export interface RepositoryRunStatus {
  readonly lastCheck: RunSummary | null;
  readonly lastFailedCheck: RunSummary | null;
  readonly lastPrune: RunSummary | null;
  readonly lastFailedPrune: RunSummary | null;
}

/** The newest run of a scenario drill (docs/scenarios.md), from the drill history. */
export interface ScenarioRunStatus {
  readonly scenario: string;
  readonly id: string;
  readonly at: string;
  readonly status: string;
  readonly rtoAchieved: number | null;
  readonly rtoExpected: number | null;
  readonly lostWrites: number | null;
}

export interface StatusReport {
  readonly schema: "lifeboat.status/v1";
  /** The newest run of each scenario drill kept in the repository (absent when none was read). */
  readonly scenarios?: readonly ScenarioRunStatus[];
  /** Data restores replaced and kept aside, not yet swapped back or dropped (absent when not read). */
  readonly preserved?: readonly PreservedRecord[];
  readonly generatedAt: string;
  /** The worst verdict of all sources ("failing" when the repository could not be read). */
  readonly verdict: Verdict;
  readonly sources: readonly SourceStatus[];
  readonly repository: RepositoryRunStatus & {
    readonly url: string;
    /** Bytes under data/ (packs or chunks), from the listing; null when not read. */
    readonly dataBytes: number | null;
    /** Set when the repository could not be read: status is then failing, never ok. */
    readonly error: { readonly code: string; readonly message: string } | null;
  };
}
