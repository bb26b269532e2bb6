// The parts of a source's config that every engine shares: recovery
// objectives, the `drill:` block, retention, and readiness (`ready:` probes
// and `after_restore:` hooks, config/probe-schema.ts). Each engine's own
// schema (in its folder under engines/) spreads `commonSourceFields` into its
// strictObject, so the shared fields are defined once and every engine gets
// them the same way.

import { z } from "zod";
import { duration } from "./duration-field.ts";
import { afterRestoreHook, probe, type HookConfig, type ProbeConfig } from "./probe-schema.ts";

export { duration, durationPattern } from "./duration-field.ts";

const objectives = z
  .strictObject({
    rto: duration.optional().describe("Recovery time objective: how long a restore may take."),
    rpo: duration.optional().describe("Recovery point objective: how old the restored data may be."),
    drill_interval: duration
      .optional()
      .describe("How often a passing drill must prove the source restores (status, alerts: drill overdue)."),
  })
  .describe("Declared recovery objectives; drills report achieved values against them.");

const httpCheck = z.strictObject({
  url: z.string().url(),
  status: z.int().min(100).max(599).default(200).describe("Expected HTTP status."),
  json_field: z
    .string()
    .optional()
    .describe("Dotted path of a field in the JSON body, e.g. database.migrations_current."),
  equals: z.unknown().optional().describe("Expected value of json_field (default: any truthy value)."),
  timeout: duration.default("10s"),
});

const drillCheck = z.union([
  z.strictObject({
    sql: z.string().min(1).describe("A query whose first column of the first row must be true."),
  }),
  z.strictObject({ http: httpCheck }),
  z.strictObject({
    command: z
      .string()
      .min(1)
      .describe("Shell command run with the scratch target's connection details in its environment."),
    timeout: duration.default("5m"),
  }),
  z.strictObject({
    redis: z
      .string()
      .min(1)
      .describe(
        "redis: a command run against the restored server, e.g. GET feature:123 (quotes group words).",
      ),
    equals: z
      .union([z.string(), z.number()])
      .optional()
      .describe("The reply it must give (default: any reply but nil, 0 or an empty one)."),
  }),
  z.strictObject({
    expect_rows: z.strictObject({
      table: z
        .string()
        .min(1)
        .describe("Table as in the fingerprint: schema.table for postgres, table for sqlite."),
      min: z.int().min(0).optional(),
      equals: z.int().min(0).optional(),
    }),
  }),
]);

const drill = z
  .strictObject({
    target: z
      .strictObject({
        url: z
          .string()
          .optional()
          .describe("postgres: a server for scratch databases (the database part is replaced)."),
        path: z
          .string()
          .optional()
          .describe("sqlite/files: a directory under which scratch targets are made."),
      })
      .optional()
      .describe("Where scratch targets are made; by default a throwaway local one."),
    keep_on_failure: z
      .boolean()
      .default(false)
      .describe("Leave the scratch target in place when the drill fails."),
    allow_source_server: z
      .boolean()
      .default(false)
      .describe("Permit a scratch database on the source's own server (never the source database itself)."),
    marker: z
      .boolean()
      .optional()
      .meta({ default: false })
      .describe(
        "postgres, physical mode: the drill writes timestamped marker rows into the source (table lifeboat_drill_markers) and proves the point-in-time restore holds exactly the markers before its target; the achieved RPO is measured from them.",
      ),
    checks: z.array(drillCheck).default([]),
  })
  .describe("How `lifeboat drill` restores and verifies this source.");

const keepCount = (what: string) =>
  z
    .int()
    .min(1, "at least 1; leave the rule out to turn it off")
    .optional()
    .describe(`Keep the newest snapshot of each of the last N ${what} that have snapshots.`);

/**
 * Which snapshots `lifeboat forget` keeps (restic's rules; src/plan/retention.ts
 * defines them). A snapshot kept by any rule is kept. Top-level `retention:` is
 * the default; a source's own `retention:` replaces it; --keep-* flags replace both.
 */
export const retentionPolicy = z
  .strictObject({
    keep_last: z
      .int()
      .min(1, "at least 1; leave the rule out to turn it off")
      .optional()
      .describe("Keep the N newest snapshots."),
    keep_hourly: keepCount("hours (UTC)"),
    keep_daily: keepCount("days (UTC)"),
    keep_weekly: keepCount("ISO weeks (UTC, Monday to Sunday)"),
    keep_monthly: keepCount("months (UTC)"),
    keep_yearly: keepCount("years (UTC)"),
    keep_within: duration
      .optional()
      .describe("Keep every snapshot at most this much older than the source's newest one, e.g. 7d."),
    keep_tags: z
      .array(z.string().min(1))
      .optional()
      .describe("Keep every snapshot that carries one of these tags."),
  })
  .describe("Retention: which snapshots `lifeboat forget` keeps (docs/cli-json.md, forget).");

/** Spread into every engine's source schema. */
export const commonSourceFields = {
  objectives: objectives.optional(),
  drill: drill.optional(),
  retention: retentionPolicy.optional(),
  ready: z
    .array(probe)
    .optional()
    .describe(
      "Readiness probes: polled after a restore (and its after_restore hooks) until all pass; the first pass of the last one ends the achieved RTO. Drills also run them once before the restore (pre-drill health). docs/readiness.md.",
    ),
  after_restore: z
    .array(afterRestoreHook)
    .optional()
    .describe(
      "Shell commands run after a restore (and a drill's restore) is verified, before the readiness probes: restart the app, run migrations. RESTORE_TARGET names the target.",
    ),
};

// Optional rather than .default(false): parsed configs and hand-built source
// objects stay exactly as they were before the option existed; absent means off.
/** For engines whose fingerprint can hash table contents (the deep check). */
export const contentHashesField = z
  .boolean()
  .optional()
  .meta({ default: false })
  .describe(
    "Also fingerprint every table's contents (a hash per table) so restores and drills compare data, not just row counts. Costs a full read of every table at backup and at verify.",
  );

/** What every source config has, whatever its engine: what drills, plans and reports may rely on. */
export interface CommonSourceConfig {
  readonly engine: string;
  readonly objectives?: Objectives | undefined;
  readonly drill?: DrillConfig | undefined;
  readonly retention?: RetentionConfig | undefined;
  readonly ready?: readonly ProbeConfig[] | undefined;
  readonly after_restore?: readonly HookConfig[] | undefined;
}

export type Objectives = z.infer<typeof objectives>;
export type DrillConfig = z.infer<typeof drill>;
export type DrillCheckConfig = z.infer<typeof drillCheck>;
export type RetentionConfig = z.infer<typeof retentionPolicy>;
