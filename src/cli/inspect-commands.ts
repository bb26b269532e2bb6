// The command-line wiring of looking inside snapshots: ls and diff. Wiring
// only, like main.ts: each action imports its command module when it runs.

import type { Command } from "commander";
import type { CommandEnv } from "./session.ts";

export function registerInspectCommands(
  program: Command,
  commandEnv: (command: Command) => Promise<CommandEnv>,
): void {
  program
    .command("ls")
    .description(
      "list what a snapshot holds: a tree's files (without fetching them), a database's tables with their row counts",
    )
    .argument("<snapshot>", "snapshot id, unique id prefix, or latest (with --source)")
    .argument("[path]", "only this path and what is below it (trees), or these tables/schema (databases)")
    .option("--source <name>", "the source whose snapshot `latest` means (and to check an id against)")
    .option("-l, --long", "trees: mode, owner, size and modification time")
    .action(async (snapshot: string, path: string | undefined, flags, command: Command) => {
      const { lsCommand } = await import("./commands/ls.ts");
      await lsCommand(await commandEnv(command), snapshot, path, flags);
    });
  program
    .command("diff")
    .description("what changed between two snapshots of one source: files, tables and their row counts")
    .argument("<snapshot1>", "the earlier snapshot: id, unique prefix, or latest (with --source)")
    .argument("<snapshot2>", "the later snapshot")
    .option("--source <name>", "the source whose snapshots `latest` means")
    .action(async (first: string, second: string, flags, command: Command) => {
      const { diffCommand } = await import("./commands/diff.ts");
      await diffCommand(await commandEnv(command), first, second, flags);
    });
}
