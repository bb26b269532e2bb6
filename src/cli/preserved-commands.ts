// The command-line wiring of `preserved` (the data restores replaced and kept
// aside; `restore --undo` is an option of restore). Wiring only, like main.ts:
// each action imports its command module when it runs.

import type { Command } from "commander";
import type { CommandEnv } from "./session.ts";

export function registerPreservedCommands(
  program: Command,
  commandEnv: (command: Command) => Promise<CommandEnv>,
): void {
  const preserved = program
    .command("preserved")
    .description("the data restores replaced and kept aside (restore --undo swaps one back)")
    .action(async (_flags, command: Command) => {
      const { preservedListCommand } = await import("./commands/restore-undo.ts");
      await preservedListCommand(await commandEnv(command));
    });
  preserved
    .command("drop")
    .description("remove one kept copy for good (its id from `lifeboat preserved`)")
    .argument("<id>", "the kept copy's id")
    .option("--dry-run", "say what would be removed, remove nothing")
    .option("--confirm <name>", "the target's name, when the copy is beside a production target")
    .action(async (id: string, flags: { dryRun?: boolean; confirm?: string }, command: Command) => {
      const { preservedDropCommand } = await import("./commands/restore-undo.ts");
      await preservedDropCommand(await commandEnv(command), id, flags);
    });
}
