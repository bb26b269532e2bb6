// The command-line wiring of runbooks: `runbook check` and `runbook render` (docs/runbooks.md).
// Wiring only, like main.ts: each action imports its command module when it
// runs. Further runbook subcommands are registered on the same `runbook`.

import type { Command } from "commander";
import type { CommandEnv } from "./session.ts";

/** The program a subcommand belongs to: the whole tree runbook check parses lifeboat commands against. */
function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

export function registerRunbookCommands(
  program: Command,
  commandEnv: (command: Command) => Promise<CommandEnv>,
): Command {
  const runbook = program
    .command("runbook")
    .description(
      "runbooks: render them from lifeboat.yaml, check their DR-CHECK markers against what is deployed (docs/runbooks.md)",
    );
  runbook
    .command("check")
    .description(
      "check the DR-CHECK markers of Markdown runbooks against manifests, scripts, the CLI and lifeboat.yaml",
    )
    .argument("<file...>", "Markdown runbooks")
    .option("--root <dir>", "the folder the markers' paths are relative to (default: the current folder)")
    .action(async (files: string[], flags: { root?: string }, command: Command) => {
      const { runbookCheckCommand } = await import("./commands/runbook.ts");
      const { commandLineCheck } = await import("./command-line-check.ts");
      await runbookCheckCommand(await commandEnv(command), files, flags, commandLineCheck(rootOf(command)));
    });
  runbook
    .command("render")
    .description(
      "write the DR runbook from lifeboat.yaml: objectives, backups, monitoring, restore procedures, drill record",
    )
    .option("--out <file>", "write (or update) this file; without it the runbook is printed")
    .option(
      "--deploy <dir>",
      "the folder `lifeboat deploy kubernetes` wrote: its CronJobs get DR-CHECK cronjob markers",
    )
    .option("--root <dir>", "with --deploy: the folder manifest paths are written relative to (default: .)")
    .option("--force", "overwrite generated regions that were edited by hand")
    .option("--dry-run", "say which regions would change, write nothing")
    .action(async (flags, command: Command) => {
      const { runbookRenderCommand } = await import("./commands/runbook-render.ts");
      await runbookRenderCommand(await commandEnv(command), flags);
    });
  return runbook;
}
