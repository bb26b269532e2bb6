// The `scenarios:` block of lifeboat.yaml: scenario drills that disrupt a
// running system, let it recover (on its own, or by an action), and measure
// the time to the first passing probe and the writes lost on the way
// (src/scenario/). A scenario may touch only what it declares; one marked
// `environment: production` runs only with `--production --confirm NAME`.

import { z } from "zod";
import { duration } from "./duration-field.ts";
import { probe } from "./probe-schema.ts";

/** The probes a scenario polls are the ones a source's `ready:` block polls (config/probe-schema.ts). */
export const scenarioProbe = probe;

const commandAction = z.strictObject({
  command: z.string().min(1).describe("A shell command that must exit 0."),
  timeout: duration.default("5m"),
});
const killAction = z.strictObject({
  kill: z.strictObject({
    pid_file: z
      .string()
      .min(1)
      .describe("A file whose first line is the pid to signal (postmaster.pid, redis.pid)."),
    signal: z.enum(["KILL", "TERM", "INT", "STOP"]).default("KILL"),
  }),
});
const sqlAction = z.strictObject({
  sql: z.string().min(1).describe("A statement to run, e.g. DROP TABLE orders."),
  url: z.string().min(1).describe("postgres:// or mariadb:// URL."),
});
const restoreAction = z.strictObject({
  restore: z
    .strictObject({
      source: z.string().min(1).describe("The source to restore (a declared source)."),
      to: z.string().min(1).describe("The restore target, as `lifeboat restore --to` takes it."),
      before_disruption: z
        .boolean()
        .default(false)
        .describe("Point-in-time restore to just before the disrupt step (physical postgres sources)."),
      clean: z.boolean().default(false).describe("Replace a non-empty target (restore --clean)."),
      args: z.array(z.string()).default([]).describe("More `lifeboat restore` arguments."),
    })
    .describe("A Lifeboat restore, run as `lifeboat restore` would."),
  timeout: duration.default("30m"),
});
const blockAction = z.strictObject({
  block: z
    .strictObject({
      port: z.int().min(1).max(65535).describe("The TCP port to cut off on this host."),
      mode: z
        .enum(["drop", "reject"])
        .default("drop")
        .describe(
          "drop: packets vanish (a partition, clients time out); reject: connections are refused at once.",
        ),
    })
    .describe(
      "Block a port with an iptables rule (needs root); removed by `unblock` or when the scenario ends.",
    ),
});
const unblockAction = z.strictObject({
  unblock: z.literal(true).describe("Remove the rules this scenario's block steps added."),
});
export const scenarioAction = z.union([
  commandAction,
  killAction,
  sqlAction,
  restoreAction,
  blockAction,
  unblockAction,
]);

const step = z.union([
  z.strictObject({ steady: scenarioProbe.describe("Must pass before anything is disrupted.") }),
  z.strictObject({ disrupt: scenarioAction.describe("The fault; the RTO clock starts here.") }),
  z.strictObject({
    recover: z
      .union([
        scenarioAction,
        z.strictObject({ wait: duration.describe("Automatic: let the system fail over.") }),
      ])
      .describe("What brings the system back: an action, or waiting for its own failover."),
  }),
  z.strictObject({ probe: scenarioProbe.describe("Polled until it passes: the first pass ends the RTO.") }),
]);

const writer = z
  .strictObject({
    url: z.string().min(1).describe("postgres:// URL the writer inserts sequenced markers through."),
    survivor_url: z
      .string()
      .min(1)
      .optional()
      .describe("Where the survivors are counted after recovery (default: url), e.g. the promoted replica."),
    interval: duration.default("100ms").describe("Time between two markers."),
    table: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/, "a plain lower-case table name")
      .default("lifeboat_scenario_writes"),
  })
  .describe("Writes sequenced markers while the scenario runs, so lost writes are counted, not guessed.");

export const scenarioSchema = z
  .strictObject({
    description: z.string().optional(),
    services: z
      .array(z.string().min(1))
      .default([])
      .describe("The sources the scenario involves (for reports)."),
    environment: z
      .enum(["drill", "staging", "production"])
      .default("drill")
      .describe("production runs only with --production --confirm NAME; drill and staging run as asked."),
    expected: z
      .strictObject({ rto: duration.optional(), rpo: duration.optional() })
      .default({})
      .describe("What the scenario must achieve; the report says met or missed."),
    writer: writer.optional(),
    steps: z
      .array(step)
      .min(1)
      .refine((steps) => steps.filter((entry) => "disrupt" in entry).length === 1, "exactly one disrupt step")
      .refine(
        (steps) =>
          steps.findIndex((entry) => "steady" in entry) <= steps.findIndex((entry) => "disrupt" in entry),
        "steady probes come before the disrupt step",
      ),
  })
  .describe("A scenario drill: disrupt, recover, probe, measure (lifeboat scenario run NAME).");

export type ScenarioConfig = z.infer<typeof scenarioSchema>;
export type ScenarioStepConfig = ScenarioConfig["steps"][number];
export type ScenarioProbeConfig = z.infer<typeof scenarioProbe>;
export type ScenarioActionConfig = z.infer<typeof scenarioAction>;

export const scenarioName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "a scenario name is lower-case letters, digits and dashes");
