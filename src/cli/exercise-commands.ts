// The command-line wiring of exercises and post-mortems: `exercise plan` and
// `postmortem`. Wiring only, like main.ts: each action imports its command
// module when it runs, so --help stays light.

import type { Command } from "commander";
import type { CommandEnv } from "./session.ts";

export function registerExerciseCommands(
  program: Command,
  commandEnv: (command: Command) => Promise<CommandEnv>,
): void {
  const exercise = program
    .command("exercise")
    .description("quarterly DR exercises from lifeboat.yaml's exercises: (docs/exercises.md)");
  exercise
    .command("plan")
    .description(
      "plan the quarter's exercise: its scenario, each service's steps, injects, roles and a drill record to fill in, as Markdown",
    )
    .option("--date <YYYY-MM-DD>", "a day of the quarter to plan (default: today, UTC)")
    .option("--output <file>", "write the briefing to this file (replacing it) instead of stdout")
    .option("--notify", "post the briefing's title and summary to the notification targets")
    .action(async (flags: { date?: string; output?: string; notify?: boolean }, command: Command) => {
      const { exercisePlanCommand } = await import("./commands/exercise.ts");
      await exercisePlanCommand(await commandEnv(command), flags);
    });

  program
    .command("postmortem")
    .description("a post-mortem of a drill, pre-filled from its report in the repository (docs/exercises.md)")
    .argument("<drill>", "drill report id (as `lifeboat drills` lists), unique id prefix, or latest")
    .option("--output <file>", "write the post-mortem to this file (replacing it) instead of stdout")
    .action(async (id: string, flags: { output?: string }, command: Command) => {
      const { postmortemCommand } = await import("./commands/postmortem.ts");
      await postmortemCommand(await commandEnv(command), id, flags);
    });
}
