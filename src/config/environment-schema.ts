// The `environments:` block of lifeboat.yaml: which targets and servers are
// production, staging or scratch, by URL or path patterns (`*` matches
// anything, `/` included) or, for directories, a marker line in an `.env`
// file in the target or a folder above it (seed 001's APP_ENV=prod). A
// restore into production needs a typed or `--confirm`ed name; drills and
// scenarios never touch it (src/plan/environments.ts).

import { z } from "zod";

export const environmentNames = ["production", "staging", "scratch"] as const;
export type EnvironmentName = (typeof environmentNames)[number];

const environment = z.strictObject({
  match: z
    .array(z.string().min(1))
    .default([])
    .describe(
      'URL or path patterns of its targets; `*` matches anything, e.g. "postgres://*@db.prod.internal*".',
    ),
  env_file_marker: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*=.*$/, "a line such as APP_ENV=prod")
    .optional()
    .describe("A directory target belongs here when an .env in it or a folder above it has this line."),
});

export const environmentsSchema = z
  .partialRecord(z.enum(environmentNames), environment)
  .default({})
  .describe("Which targets are production, staging or scratch (restores into production need --confirm).");

export type EnvironmentsConfig = z.infer<typeof environmentsSchema>;
