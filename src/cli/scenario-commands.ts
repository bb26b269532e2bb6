// The command-line wiring of scenario drills (docs/scenarios.md). Wiring
// only, like main.ts: each action imports its command module when it runs.

import type { Command } from "commander";
import type { CommandEnv } from "./session.ts";

export function registerScenarioCommands(
  program: Command,
  commandEnv: (command: Command) => Promise<CommandEnv>,
): void {
  const scenario = program
    .command("scenario")
    .description("scenario drills: disrupt a running system, measure recovery time and lost writes");
  scenario
    .command("list")
    .description("the scenarios of lifeboat.yaml")
    .action(async (_flags, command: Command) => {
      const { scenarioListCommand } = await import("./commands/scenario.ts");
      await scenarioListCommand(await commandEnv(command));
    });
  scenario
    .command("run")
    .description(
      "run a scenario: steady probes, disrupt, recover, probe; RTO and lost writes against expectations",
    )
    .argument("<name>", "the scenario")
    .option("--production", "allow a scenario marked environment: production (with --confirm NAME)")
    .option("--confirm <name>", "repeat the scenario's name to confirm a production run")
    .option("--operator <name>", "who runs it, for the report (default: user@host)")
    .action(async (name: string, flags, command: Command) => {
      const { scenarioRunCommand } = await import("./commands/scenario.ts");
      await scenarioRunCommand(await commandEnv(command), name, flags);
    });
}
