// The schema of lifeboat.yaml. It is the single definition: TypeScript types
// are inferred from it, validation errors come from it (each with the path of
// the field), and docs/config.schema.json is generated from it for editors.

import { z } from "zod";

const sourceName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/i, "a source name uses letters, digits, '.', '_' and '-'");

/** Durations as people write them in runbooks: 90s, 15m, 4h, 7d. */
export const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const duration = z.string().regex(durationPattern, "a duration such as 500ms, 90s, 15m, 4h or 7d");

const objectives = z
  .strictObject({
    rto: duration.optional().describe("Recovery time objective: how long a restore may take."),
    rpo: duration.optional().describe("Recovery point objective: how old the restored data may be."),
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
    checks: z.array(drillCheck).default([]),
  })
  .describe("How `lifeboat drill` restores and verifies this source.");

const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, "a postgres:// URL")
  .describe("libpq connection URL. Put the password in PGPASSWORD or ~/.pgpass, never here.");

// Optional rather than .default(false): parsed configs and hand-built source
// objects stay exactly as they were before the option existed; absent means off.
const contentHashes = z
  .boolean()
  .optional()
  .meta({ default: false })
  .describe(
    "Also fingerprint every table's contents (a hash per table) so restores and drills compare data, not just row counts. Costs a full read of every table at backup and at verify.",
  );

export const postgresSourceSchema = z.strictObject({
  engine: z.literal("postgres"),
  url: postgresUrl,
  globals: z
    .boolean()
    .default(false)
    .describe("Also capture roles and tablespaces (pg_dumpall --globals-only)."),
  jobs: z.int().min(1).max(64).default(2).describe("Parallel pg_dump / pg_restore jobs."),
  content_hashes: contentHashes,
  objectives: objectives.optional(),
  drill: drill.optional(),
});

export const sqliteSourceSchema = z.strictObject({
  engine: z.literal("sqlite"),
  path: z.string().min(1).describe("Path of the SQLite database file."),
  content_hashes: contentHashes,
  objectives: objectives.optional(),
  drill: drill.optional(),
});

export const filesSourceSchema = z.strictObject({
  engine: z.literal("files"),
  path: z.string().min(1).describe("Directory whose tree is backed up."),
  objectives: objectives.optional(),
  drill: drill.optional(),
});

export const sourceSchema = z.discriminatedUnion("engine", [
  postgresSourceSchema,
  sqliteSourceSchema,
  filesSourceSchema,
]);

export const repositorySchema = z
  .strictObject({
    url: z
      .string()
      .regex(/^file:\/\//, "a file:// URL (s3:// arrives in a later release)")
      .describe("Where the repository lives, e.g. file:///var/backups/lifeboat."),
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
  );

const notifyWhen = z.enum(["always", "failure"]).default("failure");
const notifyTarget = z.union([
  z.strictObject({
    webhook: z.string().url().describe("Generic JSON POST of the drill report."),
    on: notifyWhen,
  }),
  z.strictObject({
    slack_webhook_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name")
      .describe("Variable holding a Slack incoming-webhook URL (it is a credential: not in this file)."),
    on: notifyWhen,
  }),
]);

export const configSchema = z.strictObject({
  repository: repositorySchema,
  sources: z.record(sourceName, sourceSchema).default({}),
  notify: z.array(notifyTarget).default([]).describe("Where drill reports are sent."),
  reports: z
    .strictObject({
      dir: z.string().default("./drill-reports").describe("Folder for drill reports (JSON and Markdown)."),
    })
    .default({ dir: "./drill-reports" }),
});

export type Config = z.infer<typeof configSchema>;
export type RepositoryConfig = z.infer<typeof repositorySchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type PostgresSourceConfig = z.infer<typeof postgresSourceSchema>;
export type SqliteSourceConfig = z.infer<typeof sqliteSourceSchema>;
export type FilesSourceConfig = z.infer<typeof filesSourceSchema>;
export type Objectives = z.infer<typeof objectives>;
export type DrillConfig = z.infer<typeof drill>;
export type DrillCheckConfig = z.infer<typeof drillCheck>;
export type NotifyConfig = z.infer<typeof notifyTarget>;
