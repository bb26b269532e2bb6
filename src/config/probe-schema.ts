// Probes and hooks: the checks that say a running system is up (a scenario's
// steady and recovery probes, a source's `ready:` block) and the commands run
// after a restore before they are polled (`after_restore:`). One schema for
// both users, so a probe written for a scenario works in `ready:` unchanged;
// src/operations/probes.ts runs them.

import { z } from "zod";
import { duration } from "./duration-field.ts";

const interval = { interval: duration.default("1s").describe("How often the probe is tried.") };
const budget = { timeout: duration.default("5m").describe("How long the probe may take to pass.") };

const sqlProbe = z.strictObject({
  sql: z.string().min(1).describe("A query whose first column of the first row must be true."),
  url: z.string().min(1).describe("postgres:// or mariadb:// URL the query runs against."),
  ...interval,
  ...budget,
});
const httpProbe = z.strictObject({
  http: z.string().url().describe("A URL that must answer `status`."),
  status: z.int().min(100).max(599).default(200),
  ...interval,
  ...budget,
});
const httpJsonProbe = z.strictObject({
  http: z
    .strictObject({
      url: z.string().url(),
      status: z.int().min(100).max(599).default(200).describe("Expected HTTP status."),
      json_field: z
        .string()
        .min(1)
        .optional()
        .describe("Dotted path of a field in the JSON body, e.g. database.migrations_current."),
      equals: z.unknown().optional().describe("Expected value of json_field (default: any truthy value)."),
    })
    .describe("A URL that must answer `status`, and whose JSON body's json_field must equal `equals`."),
  ...interval,
  ...budget,
});
const tcpProbe = z.strictObject({
  tcp: z
    .string()
    .regex(/^[^\s:]+:\d+$/, "host:port")
    .describe("host:port that must accept a connection."),
  ...interval,
  ...budget,
});
const redisProbe = z.strictObject({
  redis: z.string().min(1).describe("A command, e.g. `ROLE` or `GET feature:1`."),
  url: z.string().min(1).describe("redis:// URL."),
  equals: z
    .union([z.string(), z.number()])
    .optional()
    .describe("The reply it must give (default: any but nil/0/empty)."),
  ...interval,
  ...budget,
});
const commandProbe = z.strictObject({
  command: z.string().min(1).describe("A shell command that must exit 0."),
  ...interval,
  ...budget,
});

export const probe = z.union([sqlProbe, httpProbe, httpJsonProbe, tcpProbe, redisProbe, commandProbe]);

export const afterRestoreHook = z.strictObject({
  command: z
    .string()
    .min(1)
    .describe(
      "A shell command that must exit 0, e.g. `docker compose exec -T api alembic upgrade head`; RESTORE_TARGET names the restored target.",
    ),
  timeout: duration
    .default("5m")
    .describe("How long it may run; then it is killed with everything it started."),
});

export type ProbeConfig = z.infer<typeof probe>;
export type HookConfig = z.infer<typeof afterRestoreHook>;
