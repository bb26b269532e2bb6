// The `exercises:` block of lifeboat.yaml: the quarterly DR exercise calendar
// (seed 002's drill rotation, seed 004's tabletop planner). A rotation names
// the scenario kind of each quarter, the services taking part are sources or
// groups (default: every source), roles name the people, and each built-in
// scenario's text may be overridden. `lifeboat exercise plan` reads it.

import { z } from "zod";
import { duration } from "./source-fields.ts";

/** The built-in scenario kinds, in seed 002's order (Q1 to Q4). */
export const scenarioKinds = [
  "primary-failover",
  "regional-outage",
  "data-corruption",
  "resource-exhaustion",
] as const;
export type ScenarioKind = (typeof scenarioKinds)[number];

export const defaultRotation = {
  q1: "primary-failover",
  q2: "regional-outage",
  q3: "data-corruption",
  q4: "resource-exhaustion",
} as const satisfies Record<string, ScenarioKind>;

const kind = z.enum(scenarioKinds);

const inject = z.strictObject({
  at: duration.describe("When the facilitator announces it, from the start of the exercise, e.g. 15m."),
  say: z.string().min(1).describe("What the facilitator announces."),
});

const scenarioOverride = z
  .strictObject({
    title: z.string().min(1).optional().describe("The scenario's name in the briefing."),
    description: z.string().min(1).optional().describe("What has happened, as told to the participants."),
    injects: z
      .array(inject)
      .min(1)
      .optional()
      .describe("Replaces the built-in injects: what the facilitator announces as the exercise unfolds."),
    measure: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("Replaces the built-in list of what to measure."),
    steps: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        "Replaces the built-in steps for every service; {source} stands for the service's name, e.g. `lifeboat drill {source}`.",
      ),
  })
  .describe("Overrides of one built-in scenario's text; what is not given stays built in.");

/** Role names become Markdown table rows; people's names are free text. */
const roleName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]*$/, "a role name uses lowercase letters, digits, '_' and '-'");

/**
 * The block's schema around the notification target shape of config/schema.ts
 * (passed in, so both use one definition without a circular import).
 */
export function exercisesSchemaFor<N extends z.ZodType>(notifyTarget: N) {
  return z
    .strictObject({
      rotation: z
        .strictObject({ q1: kind, q2: kind, q3: kind, q4: kind })
        .default(defaultRotation)
        .describe("The scenario kind of each quarter (default: seed 002's rotation)."),
      sources: z
        .array(z.string().min(1))
        .min(1)
        .optional()
        .describe("The sources taking part (default: every source, unless groups is given)."),
      groups: z
        .array(z.string().min(1))
        .min(1)
        .optional()
        .describe("Groups taking part: every member source, restored together."),
      roles: z
        .record(roleName, z.string().min(1))
        .default({})
        .describe("Who plays which part, e.g. facilitator: Dana, scribe: Lee, operator: Sam, reviewer: Kim."),
      notify: z
        .array(notifyTarget)
        .optional()
        .describe(
          "Where `exercise plan --notify` posts the briefing's summary (default: the top-level notify:; every target, whatever its on:).",
        ),
      scenarios: z
        .strictObject(Object.fromEntries(scenarioKinds.map((name) => [name, scenarioOverride.optional()])))
        .default({})
        .describe("Overrides of the built-in scenarios' text."),
    })
    .describe("The quarterly DR exercise calendar (lifeboat exercise plan; docs/exercises.md).");
}

export type ScenarioOverride = z.infer<typeof scenarioOverride>;
export type InjectConfig = z.infer<typeof inject>;

/** Names in exercises: that lifeboat.yaml does not declare, as zod issues with their paths. */
export function exerciseReferenceIssues(config: {
  readonly sources: Readonly<Record<string, unknown>>;
  readonly groups: Readonly<Record<string, unknown>>;
  readonly exercises?:
    { readonly sources?: readonly string[]; readonly groups?: readonly string[] } | undefined;
}): { code: "custom"; message: string; path: (string | number)[] }[] {
  const issues: { code: "custom"; message: string; path: (string | number)[] }[] = [];
  const check = (field: "sources" | "groups", known: Readonly<Record<string, unknown>>) =>
    (config.exercises?.[field] ?? []).forEach((name, index) => {
      if (!(name in known))
        issues.push({
          code: "custom",
          message: `no ${field === "sources" ? "source" : "group"} named ${name} in ${field}:`,
          path: ["exercises", field, index],
        });
    });
  check("sources", config.sources);
  check("groups", config.groups);
  return issues;
}
