// `groups:` in lifeboat.yaml: sources backed up from one barrier and drilled
// together (a database, its cache and its uploads), as seed 000's bundle.
// The short form is a list of source names; the long form adds the group's
// own checks (an application smoke command that sees every member's scratch
// target) and a recovery time objective for the whole group.

import { z } from "zod";
import { duration } from "./source-fields.ts";

export const groupName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a group name uses letters, digits, '.', '_' and '-'");

const members = z
  .array(z.string().min(1))
  .min(2, "a group has at least two sources")
  .describe("The member sources.");

const groupCheck = z.strictObject({
  command: z
    .string()
    .min(1)
    .describe(
      "Shell command run once every member is restored, with each member's scratch details in its environment as <MEMBER>_<VARIABLE> (app-db's PGHOST is APP_DB_PGHOST).",
    ),
  timeout: duration.default("5m"),
});

export const groupSchema = z
  .union([
    members,
    z.strictObject({
      sources: members,
      objectives: z
        .strictObject({
          rto: duration.optional().describe("How long restoring and verifying the whole group may take."),
        })
        .optional(),
      checks: z.array(groupCheck).default([]).describe("Checks across the restored members."),
    }),
  ])
  .describe("Sources backed up together (backup --group) and drilled together (drill --group).");

export type GroupConfig = z.infer<typeof groupSchema>;
export type GroupCheckConfig = z.infer<typeof groupCheck>;

export interface Group {
  readonly sources: readonly string[];
  readonly rto?: string | undefined;
  readonly checks: readonly GroupCheckConfig[];
}

/** The long form of either way of writing a group. */
export function groupOf(config: GroupConfig): Group {
  if (Array.isArray(config)) return { sources: config, checks: [] };
  return { sources: config.sources, rto: config.objectives?.rto, checks: config.checks };
}

/** A member's variables in a group check's environment: app-db's PGHOST is APP_DB_PGHOST. */
export function memberVariable(member: string, variable: string): string {
  return `${member.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_${variable}`;
}
