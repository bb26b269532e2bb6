// The exercise briefing: the Markdown handed to the participants before a
// quarterly exercise (seed 004), from the plan alone. It holds no time of
// generation and no version, so a plan for a date renders the same every
// time; the drill record table at the end is left to fill in (seed 001's
// fields), one row per service.

import { planSummary, planTitle, type ExercisePlan } from "./exercise-plan.ts";

/** Roles every exercise needs; listed to assign when lifeboat.yaml names none. */
const usualRoles = ["facilitator", "scribe", "operator", "reviewer"];

/** A table cell: no line breaks, no column separators. */
const cell = (text: string) => text.replace(/\s*\n\s*/g, " ").replaceAll("|", "\\|");

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${headers.join(" | ")} |`,
    `| ${headers.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.map(cell).join(" | ")} |`),
  ];
}

export function renderBriefing(plan: ExercisePlan): string {
  const roles = Object.entries(plan.roles);
  const roleRows = roles.length
    ? roles.map(([role, person]) => [role, person])
    : usualRoles.map((role) => [role, "(to assign)"]);
  const lines = [
    `# ${planTitle(plan)}`,
    "",
    planSummary(plan),
    "",
    `- Quarter: Q${plan.quarter} ${plan.year} (${plan.window.from} to ${plan.window.to}), planned for ${plan.date}`,
    `- Scenario: ${plan.title} (\`${plan.kind}\`)`,
    `- Services: ${plan.services.map((service) => service.source).join(", ") || "none"}`,
    "",
    "## Scenario",
    "",
    plan.description,
    "",
    "## Services and objectives",
    "",
    ...(plan.services.length
      ? table(
          ["Service", "Engine", "Group", "RTO objective", "RPO objective", "Variant"],
          plan.services.map((service) => [
            service.source,
            service.engine,
            service.group ?? "-",
            service.objectives.rto ?? "none declared",
            service.objectives.rpo ?? "none declared",
            service.variant,
          ]),
        )
      : ["No service takes part: check `exercises.sources` and `exercises.groups` in lifeboat.yaml."]),
    "",
    "## Steps",
    "",
  ];
  for (const service of plan.services) {
    lines.push(`### ${service.source}: ${service.variant}`, "", "```sh", ...service.steps, "```", "");
  }
  lines.push(
    "## Injects",
    "",
    "The facilitator announces each at its time from the start of the exercise (T+0).",
    "",
    ...table(
      ["Time", "Facilitator announces"],
      plan.injects.map((inject) => [`T+${inject.at}`, inject.say]),
    ),
    "",
    "## What to measure",
    "",
    ...plan.measure.map((item) => `- ${item}`),
    "",
    ...(plan.scenarioRuns.length > 0
      ? [
          "## Run it for real",
          "",
          "lifeboat.yaml declares scenario drills of this kind: they disrupt the drill system and measure the",
          "achieved RTO and the writes lost (docs/scenarios.md).",
          "",
          "```sh",
          ...plan.scenarioRuns,
          "```",
          "",
        ]
      : []),
    "## Roles",
    "",
    ...table(["Role", "Person"], roleRows),
    "",
    "## Drill record",
    "",
    "One row per service, filled in during the exercise (times in UTC).",
    "",
    ...table(
      [
        "Service",
        "Date",
        "Operator",
        "Reviewer",
        "Start",
        "End",
        "RTO achieved (objective)",
        "RPO achieved (objective)",
        "Result",
        "Follow-ups",
      ],
      plan.services.map((service) => [
        service.source,
        "",
        plan.roles["operator"] ?? "",
        plan.roles["reviewer"] ?? "",
        "",
        "",
        `(${service.objectives.rto ?? "none"})`,
        `(${service.objectives.rpo ?? "none"})`,
        "",
        "",
      ]),
    ),
    "",
  );
  return lines.join("\n");
}
