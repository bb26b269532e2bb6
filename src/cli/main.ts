#!/usr/bin/env node
// The lifeboat command line. Commands are plain functions in ./commands; this
// file only wires arguments to them and turns failures into documented exit
// codes (docs/errors.md) and, with --json, a JSON error document.

import { Command, CommanderError, Option } from "commander";
import { ExitCode, LifeboatError } from "../errors.ts";
import { redact } from "../runtime/logger.ts";
import { lifeboatVersion } from "../version.ts";
import { backupCommand } from "./commands/backup.ts";
import { checkCommand } from "./commands/check.ts";
import { demoCommand } from "./commands/demo.ts";
import { drillCommand } from "./commands/drill.ts";
import { drillsCommand } from "./commands/drills.ts";
import { initCommand } from "./commands/init.ts";
import { keyAddCommand, keyListCommand, keyRemoveCommand } from "./commands/key.ts";
import { restoreCommand } from "./commands/restore.ts";
import { snapshotsCommand } from "./commands/snapshots.ts";
import { unlockCommand } from "./commands/unlock.ts";
import { createOutput } from "./output.ts";
import { createLog, type CommandEnv, type GlobalOptions } from "./session.ts";

const abort = new AbortController();

function commandEnv(command: Command): CommandEnv {
  const options = command.optsWithGlobals<GlobalOptions>();
  return { options, output: createOutput(!!options.json), log: createLog(options), signal: abort.signal };
}

function buildProgram(): Command {
  const program = new Command("lifeboat")
    .description("Disaster recovery as code: back up, restore and prove it.")
    .version(lifeboatVersion)
    .option("-c, --config <path>", "config file (default: $LIFEBOAT_CONFIG or ./lifeboat.yaml)")
    .option("--json", "print the result as JSON on stdout (see docs/cli-json.md)")
    .option("-q, --quiet", "print only warnings and errors")
    .option("-v, --verbose", "print debug details")
    .option("--no-progress", "never draw progress bars")
    .showHelpAfterError()
    .exitOverride();

  program
    .command("init")
    .description("create the repository named in lifeboat.yaml")
    .action((_options, command: Command) => initCommand(commandEnv(command)));

  program
    .command("backup")
    .description("back up the named sources (all when none is named)")
    .argument("[source...]", "source names from lifeboat.yaml")
    .action((sources: string[], _options, command: Command) => backupCommand(commandEnv(command), sources));

  program
    .command("snapshots")
    .description("list snapshots, oldest first")
    .argument("[source...]", "only these sources")
    .action((sources: string[], _options, command: Command) =>
      snapshotsCommand(commandEnv(command), sources),
    );

  program
    .command("restore")
    .description(
      "restore a snapshot of SOURCE into a target and verify it against the snapshot's fingerprint",
    )
    .argument("<source>", "source name")
    .requiredOption("--to <target>", "target: a postgres:// URL, a file path (sqlite) or a directory (files)")
    .option("--snapshot <id>", "snapshot id, unique id prefix, or latest", "latest")
    .option("--clean", "databases: drop and recreate a non-empty target")
    .option("--force", "files/sqlite: replace a non-empty target")
    .option("--globals", "postgres: also restore roles captured with the snapshot")
    .option("--dry-run", "show what would be done, change nothing")
    .action((source: string, flags, command: Command) => restoreCommand(commandEnv(command), source, flags));

  program
    .command("check")
    .description("verify the repository's structure, and optionally read and verify its data")
    .addOption(
      new Option("--read-data", "read, decrypt and re-hash every data object").conflicts("readDataSubset"),
    )
    .option("--read-data-subset <percent>", "read and verify this share of the data objects, e.g. 10%")
    .action((flags, command: Command) => checkCommand(commandEnv(command), flags));

  program
    .command("drill")
    .description("restore snapshots into scratch targets, verify them and measure RTO/RPO against objectives")
    .argument("[source...]", "source names (all when none is named)")
    .option("--snapshot <id>", "snapshot id, unique prefix, latest or random", "latest")
    .action((sources: string[], flags, command: Command) =>
      drillCommand(commandEnv(command), sources, flags),
    );

  program
    .command("drills")
    .description("list the drill history kept in the repository, with the RTO trend")
    .argument("[source...]", "only these sources")
    .action((sources: string[], _options, command: Command) => drillsCommand(commandEnv(command), sources));

  const key = program.command("key").description("manage the passwords that unlock the repository");
  key
    .command("list")
    .description("list the repository's keys")
    .action((_options, command: Command) => keyListCommand(commandEnv(command)));
  key
    .command("add")
    .description("add a password; it is read from $LIFEBOAT_NEW_PASSWORD or --new-password-file")
    .option("--new-password-env <name>", "variable holding the new password", "LIFEBOAT_NEW_PASSWORD")
    .option("--new-password-file <path>", "file whose first line is the new password")
    .action((flags, command: Command) => keyAddCommand(commandEnv(command), flags));
  key
    .command("remove")
    .description("remove a key by id (or unique prefix)")
    .argument("<id>", "key id")
    .action((id: string, _options, command: Command) => keyRemoveCommand(commandEnv(command), id));

  program
    .command("unlock")
    .description("remove stale locks left by dead processes")
    .option("--remove-all", "remove every lock, live or not (only when you know the holders are gone)")
    .option("--dry-run", "list the locks, remove nothing")
    .action((flags, command: Command) => unlockCommand(commandEnv(command), flags));

  program
    .command("demo")
    .description(
      "back up a sample SQLite database and uploads folder, restore them into scratch places and verify",
    )
    .option("--keep", "keep the demo's working directory")
    .option("--dir <path>", "working directory (default: a new temporary one)")
    .action((flags, command: Command) => demoCommand(commandEnv(command), flags));

  return program;
}

function reportFailure(error: unknown, json: boolean): number {
  if (error instanceof CommanderError) {
    // commander already printed usage problems (and --help/--version output) to the terminal.
    return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  const failure =
    error instanceof LifeboatError
      ? error
      : new LifeboatError("INTERNAL", error instanceof Error ? error.message : String(error), {
          cause: error,
        });
  if (!failure.reported) {
    if (json) process.stdout.write(JSON.stringify({ error: failure.toJSON() }, null, 2) + "\n");
    process.stderr.write(redact(`error [${failure.code}]: ${failure.message}\nhint: ${failure.hint}\n`));
    if (failure.code === "INTERNAL" && failure.cause instanceof Error && failure.cause.stack) {
      process.stderr.write(redact(failure.cause.stack) + "\n");
    }
  }
  return failure.exitCode;
}

async function main(argv: readonly string[]): Promise<number> {
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130); // a second Ctrl-C means now
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping, cleaning up (press Ctrl-C again to exit at once)\n`);
    abort.abort(new LifeboatError("INTERRUPTED", `interrupted by ${signal}`));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: "user" });
    return ExitCode.ok;
  } catch (error) {
    return reportFailure(error, argv.includes("--json"));
  }
}

process.exitCode = await main(process.argv.slice(2));
