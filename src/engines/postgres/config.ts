// The `postgres` source in lifeboat.yaml.

import { z } from "zod";
import { commonSourceFields, contentHashesField } from "../../config/source-fields.ts";

const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, "a postgres:// URL")
  .describe("libpq connection URL. Put the password in PGPASSWORD or ~/.pgpass, never here.");

export const postgresSourceSchema = z.strictObject({
  engine: z.literal("postgres"),
  url: postgresUrl,
  globals: z
    .boolean()
    .default(false)
    .describe("Also capture roles and tablespaces (pg_dumpall --globals-only)."),
  jobs: z.int().min(1).max(64).default(2).describe("Parallel pg_dump / pg_restore jobs."),
  content_hashes: contentHashesField,
  ...commonSourceFields,
});

export type PostgresSourceConfig = z.infer<typeof postgresSourceSchema>;
