// Which snapshots of one source a retention policy keeps: a pure function of
// the snapshots and the policy (restic's `forget` rules). operations/forget.ts
// applies the plan; the same plan object drives --dry-run and the real run.
//
// The rules (a snapshot kept by any rule is kept, with every reason that kept it):
// - last N: the N newest snapshots.
// - hourly/daily/weekly/monthly/yearly N: going from the newest snapshot back,
//   the newest snapshot of each calendar unit, for the last N units that HAVE
//   snapshots (a unit without one does not use up a count, as in restic).
//   Units are UTC calendar units of the snapshot's consistent point: hours,
//   days, ISO-8601 weeks (Monday to Sunday; the week of 2024-12-30 is
//   2025-W01), months, years. UTC rather than local time because the plan must
//   not depend on the zone of the machine that runs `forget`: a dry run on a
//   laptop and the real run from a CI runner give the same plan. A nightly
//   backup stays one per day in any zone; only which snapshot is "the newest of
//   the day" shifts by the offset, and never by more than one.
// - within D: every snapshot whose consistent point is at most D older than the
//   source's newest snapshot (inclusive). Like restic, the anchor is the newest
//   snapshot, not the clock: when backups stop, forget never eats the last ones.
// - tags: every snapshot carrying one of the tags.
// - pinned: snapshots in `pinned` are kept whatever the policy (the caller
//   decides what pins a snapshot: today the manifest tag `pin`).
//
// No rule reads the clock, so the plan is a function of the listing alone:
// a dry run and a real run minutes apart plan the same thing, and re-running a
// finished forget removes nothing more. Refusals (both pure, so --dry-run
// refuses exactly what a real run refuses): a policy without any rule
// (NO_RETENTION_POLICY: it would keep nothing, or everything, by accident),
// and a plan that would remove every snapshot of a source
// (RETENTION_KEEPS_NOTHING: only keep_tags can, when no snapshot has the tag).
//
// For PITR (WAL kept for base backups), the kept list is the input: the WAL a
// source must keep is what its oldest kept base backup needs onwards, so WAL
// retention is derived from this plan, never planned apart from it.

import type { RetentionConfig } from "../config/source-fields.ts";
import { parseDuration } from "../domain/duration.ts";
import type { Snapshot } from "../domain/snapshot.ts";
import { LifeboatError } from "../errors.ts";

/** The manifest tag that pins a snapshot: forget keeps it whatever the policy. */
export const PIN_TAG = "pin";

export interface RetentionPolicy {
  readonly keepLast?: number;
  readonly keepHourly?: number;
  readonly keepDaily?: number;
  readonly keepWeekly?: number;
  readonly keepMonthly?: number;
  readonly keepYearly?: number;
  /** A duration such as "7d" (units ms, s, m = minutes, h, d). */
  readonly keepWithin?: string;
  readonly keepTags?: readonly string[];
}

export type RetentionRule =
  | "last"
  | "hourly"
  | "daily"
  | "weekly"
  | "monthly"
  | "yearly"
  | "within"
  | "tag"
  | "pinned"
  | "pitr-window"
  | "bundle"
  | "unknown-time";

export interface KeepReason {
  readonly rule: RetentionRule;
  /** The unit ("2024-W52", "2024-12-28"), the position ("2 of 3"), the duration or the tag. */
  readonly detail: string;
}

export interface KeptSnapshot {
  readonly id: string;
  readonly consistentAt: string;
  readonly reasons: readonly KeepReason[];
}

export interface RemovedSnapshot {
  readonly id: string;
  readonly consistentAt: string;
}

export interface RetentionPlan {
  readonly source: string;
  /** Oldest first, like `lifeboat snapshots`. */
  readonly keep: readonly KeptSnapshot[];
  readonly remove: readonly RemovedSnapshot[];
}

export type RetentionCandidate = Pick<Snapshot, "id" | "consistentAt" | "finishedAt" | "tags">;

export interface RetentionInput {
  readonly source: string;
  readonly snapshots: readonly RetentionCandidate[];
  readonly policy: RetentionPolicy;
  /** Ids kept whatever the policy. */
  readonly pinned?: ReadonlySet<string>;
  /** Ids kept whatever the policy, with the reason (the base backup a PITR window starts from). */
  readonly keepAlso?: ReadonlyMap<string, KeepReason>;
}

type CalendarUnit = "hourly" | "daily" | "weekly" | "monthly" | "yearly";

const calendarRules: readonly { rule: CalendarUnit; count: keyof RetentionPolicy }[] = [
  { rule: "hourly", count: "keepHourly" },
  { rule: "daily", count: "keepDaily" },
  { rule: "weekly", count: "keepWeekly" },
  { rule: "monthly", count: "keepMonthly" },
  { rule: "yearly", count: "keepYearly" },
];

export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return (
    policy.keepLast === undefined &&
    calendarRules.every(({ count }) => policy[count] === undefined) &&
    policy.keepWithin === undefined &&
    (policy.keepTags ?? []).length === 0
  );
}

/** lifeboat.yaml's snake_case block as a policy. */
export function policyFromConfig(config: RetentionConfig): RetentionPolicy {
  const entries: [keyof RetentionPolicy, unknown][] = [
    ["keepLast", config.keep_last],
    ["keepHourly", config.keep_hourly],
    ["keepDaily", config.keep_daily],
    ["keepWeekly", config.keep_weekly],
    ["keepMonthly", config.keep_monthly],
    ["keepYearly", config.keep_yearly],
    ["keepWithin", config.keep_within],
    ["keepTags", config.keep_tags],
  ];
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined)) as RetentionPolicy;
}

/** The UTC calendar unit a time falls in, as a sortable label. */
export function calendarUnitOf(unit: CalendarUnit, time: Date): string {
  const iso = time.toISOString();
  switch (unit) {
    case "hourly":
      return `${iso.slice(0, 13)}h`;
    case "daily":
      return iso.slice(0, 10);
    case "weekly":
      return isoWeekOf(time);
    case "monthly":
      return iso.slice(0, 7);
    case "yearly":
      return iso.slice(0, 4);
  }
}

/** ISO-8601 week: weeks start on Monday; week 1 holds the year's first Thursday. */
function isoWeekOf(time: Date): string {
  const day = Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate());
  const weekday = (new Date(day).getUTCDay() + 6) % 7; // Monday 0 .. Sunday 6
  const thursday = new Date(day + (3 - weekday) * 86_400_000);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1;
  return `${year}-W${String(week).padStart(2, "0")}`;
}

export function planRetention(input: RetentionInput): RetentionPlan {
  const { source, policy } = input;
  if (isEmptyPolicy(policy)) {
    throw new LifeboatError("NO_RETENTION_POLICY", `the retention policy of ${source} has no rule`, {
      details: { source },
    });
  }
  const withinSeconds = policy.keepWithin === undefined ? undefined : parseDuration(policy.keepWithin);
  const reasons = new Map<string, KeepReason[]>();
  const keep = (id: string, reason: KeepReason) => {
    const list = reasons.get(id) ?? [];
    list.push(reason);
    reasons.set(id, list);
  };

  const timed = input.snapshots.map((snapshot) => ({ snapshot, time: Date.parse(snapshot.consistentAt) }));
  // A snapshot whose time cannot be read cannot be placed in any unit: keep it rather than guess.
  for (const { snapshot } of timed.filter(({ time }) => Number.isNaN(time)))
    keep(snapshot.id, { rule: "unknown-time", detail: snapshot.consistentAt });
  const newestFirst = timed.filter(({ time }) => !Number.isNaN(time)).sort(newestFirstOrder);

  const keepLast = policy.keepLast ?? 0;
  newestFirst.slice(0, keepLast).forEach(({ snapshot }, index) => {
    keep(snapshot.id, { rule: "last", detail: `${index + 1} of ${keepLast}` });
  });
  for (const { rule, count } of calendarRules) {
    let left = (policy[count] as number | undefined) ?? 0;
    let lastUnit: string | undefined;
    for (const { snapshot, time } of newestFirst) {
      if (left === 0) break;
      const unit = calendarUnitOf(rule, new Date(time));
      if (unit === lastUnit) continue;
      lastUnit = unit;
      left--;
      keep(snapshot.id, { rule, detail: unit });
    }
  }
  const newest = newestFirst[0];
  if (withinSeconds !== undefined && newest) {
    for (const { snapshot, time } of newestFirst) {
      if (newest.time - time > withinSeconds * 1000) break;
      keep(snapshot.id, {
        rule: "within",
        detail: `${policy.keepWithin} of ${newest.snapshot.consistentAt}`,
      });
    }
  }
  const tags = new Set(policy.keepTags ?? []);
  for (const snapshot of input.snapshots) {
    for (const tag of snapshot.tags) if (tags.has(tag)) keep(snapshot.id, { rule: "tag", detail: tag });
    if (input.pinned?.has(snapshot.id)) keep(snapshot.id, { rule: "pinned", detail: "pinned" });
    const also = input.keepAlso?.get(snapshot.id);
    if (also) keep(snapshot.id, also);
  }

  const oldestFirst = [...timed.filter(({ time }) => Number.isNaN(time)), ...[...newestFirst].reverse()].map(
    ({ snapshot }) => snapshot,
  );
  const plan: RetentionPlan = {
    source,
    keep: oldestFirst
      .filter((snapshot) => reasons.has(snapshot.id))
      .map(({ id, consistentAt }) => ({ id, consistentAt, reasons: reasons.get(id)! })),
    remove: oldestFirst
      .filter((snapshot) => !reasons.has(snapshot.id))
      .map(({ id, consistentAt }) => ({ id, consistentAt })),
  };
  if (plan.keep.length === 0 && plan.remove.length > 0) {
    throw new LifeboatError(
      "RETENTION_KEEPS_NOTHING",
      `the retention policy of ${source} keeps none of its ${plan.remove.length} snapshot(s)`,
      { details: { source, policy, snapshots: plan.remove.length } },
    );
  }
  return plan;
}

/** Newest consistent point first; ties broken by finish time, then id, so the order never depends on the listing's. */
function newestFirstOrder(
  a: { snapshot: RetentionCandidate; time: number },
  b: { snapshot: RetentionCandidate; time: number },
): number {
  return (
    b.time - a.time ||
    b.snapshot.finishedAt.localeCompare(a.snapshot.finishedAt) ||
    b.snapshot.id.localeCompare(a.snapshot.id)
  );
}
