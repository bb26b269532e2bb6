// The `schedules:` block of lifeboat.yaml: when each backup, drill, check and
// forget (with prune) runs. A cron expression is validated by the cron
// library the scheduler runs on (croner), so a pattern that passes here is
// one the scheduler can run; the error names the field and what is wrong.

import { Cron } from "croner";
import { z } from "zod";
import { duration } from "./source-fields.ts";

/** Schedule names become Kubernetes names (`lifeboat-<name>`) and systemd unit names. */
export const scheduleName = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/,
    "a schedule name uses lowercase letters, digits and '-' (at most 42)",
  );

function validCron(pattern: string): string | undefined {
  try {
    new Cron(pattern, { paused: true });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function validTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const scheduleSchema = z
  .strictObject({
    run: z
      .enum(["backup", "drill", "check", "forget", "scenario"])
      .describe("What runs: the lifeboat command of that name (scenario: `scenario run` of `scenario:`)."),
    scenario: z
      .string()
      .min(1)
      .optional()
      .describe(
        "scenario: the scenario to run (a drill or staging one: production ones need a person's confirmation).",
      ),
    cron: z
      .string()
      .optional()
      .describe('When, as a cron expression (5 fields, or 6 with seconds first), e.g. "0 2 * * *".'),
    every: duration.optional().describe("Or at a fixed interval, e.g. 15m (aligned to the Unix epoch)."),
    sources: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("backup, drill, forget: the sources (default: all)."),
    group: z
      .string()
      .min(1)
      .optional()
      .describe("backup, drill: a group of groups: instead of sources (backup --group, drill --group)."),
    read_data_subset: z
      .string()
      .regex(/^\d+(\.\d+)?%$/, "a percentage such as 10%")
      .optional()
      .describe("check: read and verify this share of the data."),
    prune: z.boolean().default(true).describe("forget: prune the repository afterwards (forget --prune)."),
    timezone: z
      .string()
      .optional()
      .describe("The cron expression's time zone (IANA, e.g. Europe/Berlin; default UTC)."),
    jitter: duration
      .optional()
      .describe("Start each run up to this much later, at random (spreads many hosts)."),
    max_runtime: duration
      .optional()
      .describe("Stop a run still going after this long (it fails, and is recorded)."),
    catch_up: z
      .boolean()
      .default(true)
      .describe("After downtime that missed runs, run once at start (never more than once)."),
  })
  .superRefine((schedule, context) => {
    if ((schedule.cron === undefined) === (schedule.every === undefined)) {
      context.addIssue({ code: "custom", message: "give exactly one of cron or every", path: ["cron"] });
    }
    if (schedule.cron !== undefined) {
      const problem = validCron(schedule.cron);
      if (problem)
        context.addIssue({ code: "custom", message: `invalid cron expression: ${problem}`, path: ["cron"] });
    }
    if (schedule.timezone !== undefined && !validTimezone(schedule.timezone)) {
      context.addIssue({
        code: "custom",
        message: `unknown time zone ${schedule.timezone}`,
        path: ["timezone"],
      });
    }
    if (schedule.read_data_subset !== undefined && schedule.run !== "check") {
      context.addIssue({ code: "custom", message: "only for run: check", path: ["read_data_subset"] });
    }
    if (schedule.group !== undefined && schedule.run !== "backup" && schedule.run !== "drill") {
      context.addIssue({ code: "custom", message: "only for run: backup or drill", path: ["group"] });
    }
    if (schedule.group !== undefined && schedule.sources !== undefined) {
      context.addIssue({ code: "custom", message: "give sources or group, not both", path: ["group"] });
    }
    if ((schedule.scenario !== undefined) !== (schedule.run === "scenario")) {
      context.addIssue({
        code: "custom",
        message:
          schedule.run === "scenario" ? "run: scenario needs scenario: NAME" : "only for run: scenario",
        path: ["scenario"],
      });
    }
    if (schedule.run === "scenario" && schedule.sources !== undefined) {
      context.addIssue({
        code: "custom",
        message: "a scenario names its own services: no sources",
        path: ["sources"],
      });
    }
    if (schedule.sources !== undefined && schedule.run === "check") {
      context.addIssue({
        code: "custom",
        message: "check covers the whole repository: no sources",
        path: ["sources"],
      });
    }
  });

export type ScheduleConfig = z.infer<typeof scheduleSchema>;
