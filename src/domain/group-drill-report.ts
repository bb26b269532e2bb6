// The report of one group drill (drill --group): every member restored into
// its scratch target from one bundle, the group's own checks run across them,
// one RTO for the whole group. Each member's own drill report is kept as
// well (its drill history); this report names them.

import type { CheckOutcome, DrillPhases, DrillStatus, ObjectiveOutcome } from "./drill-report.ts";

export const GROUP_DRILL_REPORT_SCHEMA = "lifeboat.group-drill-report/1";

export interface GroupDrillMember {
  readonly source: string;
  /** The member's own drill report. */
  readonly report: string;
  readonly status: DrillStatus;
  readonly snapshot: string | null;
  /** Seconds from the group drill's start until this member was restored and verified. */
  readonly rto: number | null;
  readonly phases: DrillPhases;
}

export interface GroupDrillReport {
  readonly schema: typeof GROUP_DRILL_REPORT_SCHEMA;
  readonly id: string;
  readonly group: string;
  readonly bundle: { readonly id: string; readonly spreadSeconds: number; readonly consistentAt: string };
  readonly status: DrillStatus;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly members: readonly GroupDrillMember[];
  /** The group's own checks, run with every member's scratch target up. */
  readonly checks: readonly CheckOutcome[];
  /** Start until every member was verified and the group's checks passed. */
  readonly rto: ObjectiveOutcome;
  /** Start of the drill minus the bundle's oldest consistent point. */
  readonly rpo: ObjectiveOutcome;
  readonly issues: readonly string[];
}
