// lifeboat exercise plan [--date YYYY-MM-DD] [--output FILE] [--notify]: the
// quarter's DR exercise from lifeboat.yaml's `exercises:` (defaults when the
// block is absent), as a Markdown briefing; --notify posts its title and
// summary to the notification targets. It reads lifeboat.yaml only, never
// the repository. --output overwrites the file: a plan is generated, and
// regenerating it for the same date gives the same text (docs/exercises.md).

import { resolve } from "node:path";
import { groupOf } from "../../config/group-schema.ts";
import { ExitCode, LifeboatError } from "../../errors.ts";
import { engineFor } from "../../engines/registry.ts";
import { renderBriefing } from "../../runbook/exercise-briefing.ts";
import { deliver, type Delivery } from "../../notify/send.ts";
import { briefingSlackMessage, briefingWebhookBody } from "../../runbook/exercise-notify.ts";
import {
  defaultSettings,
  exerciseServices,
  parsePlanDate,
  planExercise,
  planSummary,
  planTitle,
} from "../../runbook/exercise-plan.ts";
import { writeFileWhole } from "../../runtime/write-whole.ts";
import { lifeboatVersion } from "../../version.ts";
import { loadSessionConfig, type CommandEnv } from "../session.ts";
import { notifyTargets } from "./drill.ts";

export interface ExercisePlanFlags {
  readonly date?: string;
  readonly output?: string;
  readonly notify?: boolean;
}

/** The --date to plan for; today (UTC) without one, so a scheduled job needs no shell to compute it. */
function planDate(text: string | undefined, now: Date): string {
  if (text === undefined) return now.toISOString().slice(0, 10);
  if (parsePlanDate(text)) return text;
  throw new LifeboatError("BAD_ARGUMENT", `--date ${text}: not a calendar date`, {
    details: { date: text },
    hint: "Write the date as YYYY-MM-DD, e.g. --date 2024-07-01 (any day of the quarter plans that quarter).",
  });
}

export async function exercisePlanCommand(env: CommandEnv, flags: ExercisePlanFlags): Promise<void> {
  const date = planDate(flags.date, new Date());
  const { config } = await loadSessionConfig(env);
  const exercises = config.exercises;
  if (!exercises) env.log.info("lifeboat.yaml has no exercises: block; planning with the defaults");
  const groups = Object.fromEntries(
    Object.entries(config.groups).map(([name, group]) => [name, groupOf(group)]),
  );
  const services = exerciseServices({ sources: config.sources, groups }, exercises, (source) => {
    const engine = engineFor(source.engine);
    return {
      pointInTime: engine.pitr?.takesBaseBackups(source as never) ?? false,
      partialRestore: engine.capabilities.partialRestore,
    };
  });
  const plan = planExercise(date, exercises ?? defaultSettings, services, Object.keys(config.scenarios));
  const briefing = renderBriefing(plan);

  // Targets are resolved before anything is written: --notify with none to post to is a mistake.
  const targets = flags.notify
    ? briefingTargets(env, { ...config, notify: exercises?.notify ?? config.notify })
    : [];
  const output = flags.output ? resolve(flags.output) : null;
  if (output) {
    await writeFileWhole(output, briefing, { makeParents: true });
    env.log.info(`wrote the briefing to ${output}`);
  }
  const notifications: Delivery[] = flags.notify
    ? await deliver(
        targets,
        (target) =>
          target.kind === "slack" ? briefingSlackMessage(plan, output) : briefingWebhookBody(plan, output),
        lifeboatVersion,
        {},
      )
    : [];
  for (const delivery of notifications)
    if (!delivery.ok) env.log.warn(`notification to ${delivery.target} failed: ${delivery.detail}`);

  env.output.result({ ...plan, briefing, output, notifications }, () =>
    output
      ? [
          planTitle(plan),
          planSummary(plan),
          `briefing: ${output}`,
          ...notifications.map((delivery) => `posted to ${delivery.target}: ${delivery.detail}`),
        ].join("\n")
      : briefing,
  );
  const failed = notifications.filter((delivery) => !delivery.ok);
  if (failed.length) {
    throw new LifeboatError("TARGET_UNREACHABLE", `${failed.length} notification(s) not delivered`, {
      reported: true,
      exitCode: ExitCode.sourceOrTarget,
      hint: "The targets named above did not accept the post; the briefing itself was made.",
    });
  }
}

function briefingTargets(env: CommandEnv, config: Parameters<typeof notifyTargets>[0]) {
  const { targets, problems } = notifyTargets(config);
  for (const problem of problems) env.log.warn(problem);
  if (targets.length === 0) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `--notify: no notification target to post to${problems.length ? ` (${problems.join("; ")})` : ""}`,
      {
        hint: "Declare targets under exercises.notify (or the top-level notify:) in lifeboat.yaml, and set the variables they name.",
      },
    );
  }
  return targets.map((target) => ({ kind: target.kind, url: target.url }));
}
