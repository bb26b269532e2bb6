// The schema of lifeboat.yaml, minus the sources' engine-specific fields:
// each engine defines its own source schema in its folder, and the engines
// layer assembles the whole file's schema with `configSchemaFor` (see
// engines/registry.ts). TypeScript types are inferred from the schemas,
// validation errors come from them (each with the path of the field), and
// docs/config.schema.json is generated from the assembled schema.

import { z } from "zod";
import { exerciseReferenceIssues, exercisesSchemaFor } from "./exercise-schema.ts";
import { environmentsSchema } from "./environment-schema.ts";
import { groupName, groupOf, groupSchema } from "./group-schema.ts";
import { scenarioName, scenarioSchema } from "./scenario-schema.ts";
import { scheduleName, scheduleSchema } from "./schedule-schema.ts";
import { duration, retentionPolicy } from "./source-fields.ts";

/** Source names are used in file names, database names and metrics labels. */
export const sourceName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a source name uses letters, digits, '.', '_' and '-'");

export const repositorySchema = z
  .strictObject({
    url: z
      .string()
      .regex(/^(file|s3):\/\//, "a file:// or s3:// URL")
      .describe("Where the repository lives, e.g. file:///var/backups/lifeboat or s3://bucket/prefix."),
    endpoint: z
      .string()
      .regex(/^https?:\/\/[^/@\s]+(\/[^@\s]*)?$/, "an http:// or https:// URL without credentials")
      .optional()
      .describe(
        "s3:// only: the URL of an S3-compatible server; else AWS_ENDPOINT_URL_S3 or AWS's own. Credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or a web identity token, never from this file.",
      ),
    region: z
      .string()
      .regex(/^[a-z0-9-]+$/, "a region name such as us-east-1")
      .optional()
      .describe(
        "s3:// only: the bucket's region; else AWS_REGION or the profile's (us-east-1 with an endpoint).",
      ),
    path_style: z
      .boolean()
      .optional()
      .describe(
        "s3:// only: path-style addressing (http://host/bucket/key), which most S3-compatible servers need.",
      ),
    password_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name")
      .optional()
      .describe("Name of the environment variable holding the repository password."),
    password_file: z
      .string()
      .optional()
      .describe("Path of a file whose first line is the repository password."),
    encryption: z
      .enum(["aes-256-gcm", "none"])
      .default("aes-256-gcm")
      .describe("Set to none only for deliberately unencrypted repositories (used by `init`)."),
  })
  .refine(
    (repository) => repository.encryption === "none" || repository.password_env || repository.password_file,
    {
      message: "an encrypted repository needs password_env or password_file",
      path: ["password_env"],
    },
  )
  .superRefine((repository, context) => {
    if (repository.url.startsWith("s3://")) return;
    for (const field of ["endpoint", "region", "path_style"] as const) {
      if (repository[field] !== undefined) {
        context.addIssue({ code: "custom", message: "only for s3:// repositories", path: [field] });
      }
    }
  });

const notifyWhen = z.enum(["always", "failure"]).default("failure");
const progressInterval = duration
  .optional()
  .meta({ default: "15m" })
  .describe(
    "restore --notify: how often this target gets a progress update during a restore (--notify-interval overrides it).",
  );
const notifyTarget = z.union([
  z.strictObject({
    webhook: z.string().url().describe("Generic JSON POST of the drill report."),
    on: notifyWhen,
    progress_interval: progressInterval,
  }),
  z.strictObject({
    slack_webhook_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name")
      .describe("Variable holding a Slack incoming-webhook URL (it is a credential: not in this file)."),
    on: notifyWhen,
    progress_interval: progressInterval,
  }),
]);

const heartbeat = z
  .strictObject({
    file: z
      .string()
      .min(1)
      .optional()
      .describe(
        "A file rewritten after every successful run (its time and what ran), as a LAST_SUCCESS.txt.",
      ),
    ping_url_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name")
      .optional()
      .describe(
        "Variable holding a healthchecks-style URL: <url>/start when a run starts, <url> on success, <url>/fail on failure.",
      ),
    on: z
      .array(z.enum(["backup", "drill", "check", "prune", "forget"]))
      .min(1)
      .default(["backup"])
      .describe("Which runs beat."),
  })
  .describe("Heartbeats for existing monitors.");

const metrics = z
  .strictObject({
    pushgateway: z
      .string()
      .url()
      .optional()
      .describe(
        "Push every run's metrics to this Prometheus Pushgateway (job lifeboat, instance this host).",
      ),
    job: z.string().min(1).default("lifeboat").describe("The Pushgateway job name."),
  })
  .describe("Where run metrics go besides `lifeboat serve` and --metrics-textfile.");

/** The whole lifeboat.yaml schema around a schema for one source (the union of every engine's). */
export function configSchemaFor<S extends z.ZodType>(source: S) {
  return z
    .strictObject({
      repository: repositorySchema,
      sources: z.record(sourceName, source).default({}),
      retention: retentionPolicy
        .optional()
        .describe("The default retention of every source without its own `retention:` (lifeboat forget)."),
      notify: z
        .array(notifyTarget)
        .default([])
        .describe("Where drill reports, and failed backups, checks and prunes, are sent."),
      heartbeat: heartbeat.optional(),
      metrics: metrics.optional(),
      reports: z
        .strictObject({
          dir: z
            .string()
            .default("./drill-reports")
            .describe("Folder for drill reports (JSON and Markdown)."),
        })
        .default({ dir: "./drill-reports" }),
      schedules: z
        .record(scheduleName, scheduleSchema)
        .default({})
        .describe("When backups, drills, checks and forgets run (lifeboat schedule run, lifeboat deploy)."),
      groups: z
        .record(groupName, groupSchema)
        .default({})
        .describe("Sources backed up from one barrier and drilled together (backup --group, drill --group)."),
      exercises: exercisesSchemaFor(notifyTarget).optional(),
      environments: environmentsSchema,
      scenarios: z
        .record(scenarioName, scenarioSchema)
        .default({})
        .describe(
          "Scenario drills: disrupt, recover, probe, measure RTO and lost writes (lifeboat scenario run).",
        ),
    })
    .superRefine((config, context) => {
      for (const issue of exerciseReferenceIssues(config)) context.addIssue(issue);
      for (const [name, schedule] of Object.entries(config.schedules)) {
        if (schedule.scenario === undefined) continue;
        const scenario = config.scenarios[schedule.scenario];
        if (!scenario)
          context.addIssue({
            code: "custom",
            message: `no scenario named ${schedule.scenario} in scenarios:`,
            path: ["schedules", name, "scenario"],
          });
        else if (scenario.environment === "production")
          context.addIssue({
            code: "custom",
            message: `scenario ${schedule.scenario} is a production one: it runs only when a person confirms it, never on a schedule`,
            path: ["schedules", name, "scenario"],
          });
      }
      for (const [name, scenario] of Object.entries(config.scenarios)) {
        scenario.steps.forEach((step, index) => {
          if (
            "recover" in step &&
            "restore" in step.recover &&
            !(step.recover.restore.source in (config.sources as Record<string, unknown>))
          )
            context.addIssue({
              code: "custom",
              message: `no source named ${step.recover.restore.source} in sources:`,
              path: ["scenarios", name, "steps", index, "recover", "restore", "source"],
            });
        });
      }
      for (const [name, schedule] of Object.entries(config.schedules)) {
        if (schedule.group !== undefined && !(schedule.group in config.groups))
          context.addIssue({
            code: "custom",
            message: `no group named ${schedule.group} in groups:`,
            path: ["schedules", name, "group"],
          });
      }
      for (const [name, group] of Object.entries(config.groups)) {
        const { sources } = groupOf(group);
        const path = Array.isArray(group) ? ["groups", name] : ["groups", name, "sources"];
        sources.forEach((sourceName, index) => {
          if (!(sourceName in (config.sources as Record<string, unknown>)))
            context.addIssue({
              code: "custom",
              message: `no source named ${sourceName} in sources:`,
              path: [...path, index],
            });
          else if (sources.indexOf(sourceName) !== index)
            context.addIssue({
              code: "custom",
              message: `${sourceName} is named twice`,
              path: [...path, index],
            });
        });
      }
      for (const [name, schedule] of Object.entries(config.schedules)) {
        (schedule.sources ?? []).forEach((sourceName, index) => {
          if (!(sourceName in (config.sources as Record<string, unknown>))) {
            context.addIssue({
              code: "custom",
              message: `no source named ${sourceName} in sources:`,
              path: ["schedules", name, "sources", index],
            });
          }
        });
      }
    });
}

export type RepositoryConfig = z.infer<typeof repositorySchema>;
export type NotifyConfig = z.infer<typeof notifyTarget>;
export type HeartbeatConfig = z.infer<typeof heartbeat>;
