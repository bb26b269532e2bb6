#!/usr/bin/env node
// The lifeboat command line. Commands are plain functions in ./commands; this
// file only wires arguments to them and turns failures into documented exit
// codes (docs/errors.md) and, with --json, a JSON error document.

import { Command, CommanderError, Option } from "commander";
import { parseDuration } from "../domain/duration.ts";
import { ExitCode, LifeboatError } from "../errors.ts";
import { redact, redactDeep } from "../runtime/redact.ts";
import { lifeboatVersion } from "../version.ts";
import { registerExerciseCommands } from "./exercise-commands.ts";
import { registerInspectCommands } from "./inspect-commands.ts";
import { registerPreservedCommands } from "./preserved-commands.ts";
import { registerScenarioCommands } from "./scenario-commands.ts";
import { registerRunbookCommands } from "./runbook-commands.ts";
import { registerMaintenanceCommands } from "./maintenance-commands.ts";
import { registerOperationsCommands } from "./operations-commands.ts";
import { registerRestoreCommand } from "./restore-command.ts";
import { registerWalCommands } from "./wal-commands.ts";
import { createOutput } from "./output.ts";
import type { CommandEnv, GlobalOptions } from "./session.ts";

// Each action imports its command module (and through it pg, zod, yaml, the
// repository, the engines) only when it runs: `--help` and `--version` load
// commander and this file alone, so they start fast enough for a WAL archive
// command that runs once per segment. test/cli-help.test.ts checks it.

const abort = new AbortController();

/** The commands that keep run records, and so beat, notify and export metrics (cli/after-run.ts). */
const RECORDING_COMMANDS: ReadonlySet<string> = new Set(["backup", "drill", "check", "prune", "forget"]);

/** `drill`'s flags (cli/commands/drill.ts). */
type DrillFlags = {
  snapshot: string;
  group?: string;
  operator?: string;
  reviewer?: string;
  runbook?: string;
  section?: string;
  stepTimeout?: string;
};

/** The running command, for what happens after it (cli/after-run.ts). */
let running: { env: CommandEnv; name: string } | undefined;

async function commandEnv(command: Command): Promise<CommandEnv> {
  const options = command.optsWithGlobals<GlobalOptions>();
  const { createLog } = await import("./session.ts");
  const env = {
    options,
    output: createOutput(!!options.json),
    log: createLog(options),
    signal: abort.signal,
    recordedRuns: [],
  };
  running = { env, name: command.name() };
  if (RECORDING_COMMANDS.has(running.name)) {
    const { beforeCommand } = await import("./after-run.ts");
    await beforeCommand(env, running.name);
  }
  return env;
}

/** Heartbeats, failure notifications and metrics of a recording command, whatever its outcome. */
async function afterRecordingCommand(error: unknown): Promise<void> {
  if (!running || !RECORDING_COMMANDS.has(running.name)) return;
  const { afterCommand } = await import("./after-run.ts");
  try {
    await afterCommand(running.env, running.name, error);
  } catch (problem) {
    running.env.log.warn(
      `after ${running.name}: ${redact(problem instanceof Error ? problem.message : String(problem))}`,
    );
  }
}

/** --retry-lock's value in milliseconds; a bad duration is a usage error naming the option. */
function parseRetryLock(text: string): number {
  try {
    return parseDuration(text) * 1000;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new LifeboatError("BAD_ARGUMENT", `--retry-lock: ${why}`, { cause: error });
  }
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
    .option("--no-lock", "read-only commands: take no repository lock (docs/storage.md)")
    .option(
      "--no-cache",
      "keep no local cache of index and manifests ($LIFEBOAT_CACHE_DIR, docs/repository-format.md)",
    )
    .option(
      "--retry-lock <duration>",
      "when the repository is locked, keep retrying this long (e.g. 5m) before failing",
      parseRetryLock,
    )
    .option(
      "--metrics-textfile <path>",
      "backup, drill, check, prune, forget: write the status metrics there for node_exporter (docs/metrics.md)",
    )
    // Subcommands inherit this: `lifeboat restore --help` lists -c, --json, -q, ... too.
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError()
    .exitOverride();

  program
    .command("init")
    .description("create the repository named in lifeboat.yaml")
    .action(async (_options, command: Command) => {
      const { initCommand } = await import("./commands/init.ts");
      await initCommand(await commandEnv(command));
    });

  program
    .command("backup")
    .description("back up the named sources (all when none is named)")
    .argument("[source...]", "source names from lifeboat.yaml")
    .option(
      "--tag <tag>",
      "tag the snapshots (repeatable); `forget --keep-tag TAG` keeps them, and the tag `pin` keeps a snapshot always",
      (tag: string, tags: string[] | undefined) => [...(tags ?? []), tag],
    )
    .option(
      "--group <group>",
      "back up every member of a group of lifeboat.yaml from one barrier and record one bundle naming them",
    )
    .action(async (sources: string[], flags: { tag?: string[]; group?: string }, command: Command) => {
      const { backupCommand } = await import("./commands/backup.ts");
      await backupCommand(await commandEnv(command), sources, flags);
    });

  program
    .command("snapshots")
    .description("list snapshots, oldest first")
    .argument("[source...]", "only these sources")
    .option(
      "--tag <tags>",
      "only snapshots with these tags (a,b: both; repeat --tag: either)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(async (sources: string[], flags: { tag?: string[] }, command: Command) => {
      const { snapshotsCommand } = await import("./commands/snapshots.ts");
      await snapshotsCommand(await commandEnv(command), sources, flags);
    });

  const tag = program
    .command("tag")
    .description("change a snapshot's tags (a new manifest, so a new snapshot id; see docs/cli-json.md)");
  for (const action of ["add", "remove"] as const) {
    tag
      .command(action)
      .description(
        action === "add"
          ? "add tags to a snapshot; `forget --keep-tag TAG` keeps tagged ones, the tag `pin` keeps one always"
          : "remove tags from a snapshot",
      )
      .argument("<snapshot>", "snapshot id, unique id prefix, or latest (with --source)")
      .argument("<tag...>", "tags (letters, digits and . _ : @ / + -)")
      .option("--source <name>", "the source whose snapshot `latest` means (and to check an id against)")
      .option("--dry-run", "print the change and the new id, change nothing")
      .action(
        async (
          snapshot: string,
          tags: string[],
          flags: { source?: string; dryRun?: boolean },
          command: Command,
        ) => {
          const { tagCommand } = await import("./commands/tag.ts");
          await tagCommand(await commandEnv(command), action, snapshot, tags, flags);
        },
      );
  }

  program
    .command("stats")
    .description(
      "how much the snapshots hold, what they take in the repository, and the dedup and compression ratios",
    )
    .argument("[source...]", "only these sources")
    .option("--last <n>", "growth: the last N snapshots of each source", "5")
    .action(async (sources: string[], flags: { last: string }, command: Command) => {
      const { statsCommand } = await import("./commands/stats.ts");
      await statsCommand(await commandEnv(command), sources, flags);
    });

  registerPreservedCommands(program, commandEnv);
  registerInspectCommands(program, commandEnv);
  registerScenarioCommands(program, commandEnv);
  registerRunbookCommands(program, commandEnv);
  registerExerciseCommands(program, commandEnv);
  registerRestoreCommand(program, commandEnv);
  registerWalCommands(program, commandEnv);

  program
    .command("forget")
    .description(
      "remove the snapshots the retention policy does not keep (their data stays until a prune; see docs/cli-json.md)",
    )
    .argument("[source...]", "source names (every source with a policy when none is named)")
    .option("--keep-last <n>", "keep the N newest snapshots")
    .option("--keep-hourly <n>", "keep the newest snapshot of each of the last N hours (UTC) with snapshots")
    .option("--keep-daily <n>", "keep the newest snapshot of each of the last N days (UTC) with snapshots")
    .option("--keep-weekly <n>", "keep the newest snapshot of each of the last N ISO weeks with snapshots")
    .option("--keep-monthly <n>", "keep the newest snapshot of each of the last N months with snapshots")
    .option("--keep-yearly <n>", "keep the newest snapshot of each of the last N years with snapshots")
    .option(
      "--keep-within <duration>",
      "keep every snapshot at most this much older than the newest, e.g. 7d",
    )
    .option(
      "--keep-tag <tag>",
      "keep every snapshot with this tag (repeatable)",
      (tag: string, tags: string[] | undefined) => [...(tags ?? []), tag],
    )
    .option("--dry-run", "print what a real run removes, remove nothing")
    .option("--prune", "then delete the data no remaining snapshot references (as `lifeboat prune`)")
    .option(
      "--grace <duration>",
      "with --prune: keep unreferenced data written within this long (default 1h)",
    )
    .action(async (sources: string[], flags, command: Command) => {
      const { forgetCommand } = await import("./commands/forget.ts");
      await forgetCommand(await commandEnv(command), sources, flags);
    });

  program
    .command("prune")
    .description(
      "delete the data no snapshot references, repacking mostly unused packs (see docs/cli-json.md)",
    )
    .option("--dry-run", "print what a real run deletes and repacks, change nothing")
    .option("--grace <duration>", "keep unreferenced objects written within this long, e.g. 0s or 30m", "1h")
    .option(
      "--repack-threshold <percent>",
      "repack a pack when more than this share of its bytes is unused (default 20%)",
    )
    .action(async (flags, command: Command) => {
      const { pruneCommand } = await import("./commands/prune.ts");
      await pruneCommand(await commandEnv(command), flags);
    });

  program
    .command("copy")
    .description("copy the snapshots another repository lacks into it, verifying as it reads")
    .argument("[source...]", "only snapshots of these sources (all when none is named)")
    .requiredOption(
      "--to-config <path>",
      "config file of the destination repository (its own password settings)",
    )
    .option("--dry-run", "list what a real run copies, copy nothing")
    .action(async (sources: string[], flags, command: Command) => {
      const { copyCommand } = await import("./commands/copy.ts");
      await copyCommand(await commandEnv(command), sources, flags);
    });

  program
    .command("check")
    .description("verify the repository's structure, and optionally read and verify its data")
    .addOption(
      new Option("--read-data", "read, decrypt and re-hash every data object").conflicts("readDataSubset"),
    )
    .option("--read-data-subset <percent>", "read and verify this share of the data objects, e.g. 10%")
    .action(async (flags, command: Command) => {
      const { checkCommand } = await import("./commands/check.ts");
      await checkCommand(await commandEnv(command), flags);
    });

  program
    .command("drill")
    .description("restore snapshots into scratch targets, verify them and measure RTO/RPO against objectives")
    .argument("[source...]", "source names (all when none is named)")
    .option(
      "--snapshot <id>",
      "snapshot id, unique prefix, latest or random (with --group: a bundle id or prefix, or latest)",
      "latest",
    )
    .option("--group <group>", "drill every member of a group's bundle at once and run the group's checks")
    .option("--operator <name>", "who runs the drill, for its report and record (default: user@host)")
    .option("--reviewer <name>", "who reviews the drill, for its report and record")
    .option(
      "--runbook <file>",
      "run a runbook section's `run` blocks against a scratch target ($RESTORE_TARGET) instead (docs/runbooks.md)",
    )
    .option("--section <title>", "with --runbook: the section (its heading) to run")
    .option("--step-timeout <duration>", "with --runbook: how long one step may take", "30m")
    .action(async (sources: string[], flags: DrillFlags, command: Command) => {
      if (flags.runbook !== undefined) {
        if (flags.group !== undefined || flags.snapshot !== "latest")
          throw new LifeboatError(
            "BAD_ARGUMENT",
            "drill --runbook runs the procedure as written: it takes no --group or --snapshot",
          );
        const { drillRunbookCommand } = await import("./commands/drill-runbook.ts");
        return drillRunbookCommand(await commandEnv(command), sources, { ...flags, runbook: flags.runbook });
      }
      if (flags.section !== undefined)
        throw new LifeboatError("BAD_ARGUMENT", "--section goes with --runbook FILE");
      if (flags.group !== undefined) {
        if (sources.length > 0)
          throw new LifeboatError("BAD_ARGUMENT", "drill --group takes no source names");
        if (flags.operator !== undefined || flags.reviewer !== undefined)
          throw new LifeboatError("BAD_ARGUMENT", "drill --group does not record --operator/--reviewer yet");
        const { drillGroupCommand } = await import("./commands/drill-group.ts");
        return drillGroupCommand(await commandEnv(command), flags.group, flags);
      }
      const { drillCommand } = await import("./commands/drill.ts");
      await drillCommand(await commandEnv(command), sources, flags);
    });

  program
    .command("drills")
    .description("list the drill history kept in the repository, with the RTO trend")
    .argument("[source...]", "only these sources")
    .action(async (sources: string[], _options, command: Command) => {
      const { drillsCommand } = await import("./commands/drills.ts");
      await drillsCommand(await commandEnv(command), sources);
    });

  registerMaintenanceCommands(program, commandEnv);
  registerOperationsCommands(program, commandEnv);

  program
    .command("demo")
    .description(
      "back up a sample SQLite database and uploads folder, restore them into scratch places and verify",
    )
    .option("--keep", "keep the demo's working directory")
    .option("--dir <path>", "working directory (default: a new temporary one)")
    .action(async (flags, command: Command) => {
      const { demoCommand } = await import("./commands/demo.ts");
      await demoCommand(await commandEnv(command), flags);
    });

  return program;
}

function reportFailure(error: unknown, json: boolean): number {
  if (error instanceof CommanderError) {
    // commander already printed usage problems (and --help/--version output) to stderr;
    // with --json stdout still gets its one JSON document.
    if (error.exitCode === 0) return ExitCode.ok;
    if (json) {
      const usage = new LifeboatError("BAD_ARGUMENT", error.message.replace(/^error: /, ""));
      process.stdout.write(JSON.stringify({ error: usage.toJSON() }, null, 2) + "\n");
    }
    return ExitCode.usage;
  }
  const failure =
    error instanceof LifeboatError
      ? error
      : new LifeboatError("INTERNAL", error instanceof Error ? error.message : String(error), {
          cause: error,
        });
  if (!failure.reported) {
    if (json) process.stdout.write(JSON.stringify(redactDeep({ error: failure.toJSON() }), null, 2) + "\n");
    process.stderr.write(redact(`error [${failure.code}]: ${failure.message}\nhint: ${failure.hint}\n`));
    if (failure.code === "INTERNAL" && failure.cause instanceof Error && failure.cause.stack) {
      process.stderr.write(redact(failure.cause.stack) + "\n");
    }
  }
  return failure.exitCode;
}

/** How long cleanup may take after SIGINT/SIGTERM before the process exits regardless (docs/errors.md). */
const stopGraceSeconds = 20;

async function main(argv: readonly string[]): Promise<number> {
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(ExitCode.interrupted); // a second Ctrl-C means now
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping, cleaning up (press Ctrl-C again to exit at once)\n`);
    abort.abort(new LifeboatError("INTERRUPTED", `interrupted by ${signal}`));
    // Every operation watches the abort signal; should one not return (a call that cannot be
    // cancelled), the process still ends. Exit hooks stop throwaway clusters and remove spools.
    setTimeout(() => {
      process.stderr.write(`${signal}: cleanup did not finish within ${stopGraceSeconds}s; exiting\n`);
      process.exit(ExitCode.interrupted);
    }, stopGraceSeconds * 1000).unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: "user" });
    await afterRecordingCommand(undefined);
    return ExitCode.ok;
  } catch (error) {
    await afterRecordingCommand(error);
    return reportFailure(error, argv.includes("--json"));
  }
}

process.exitCode = await main(process.argv.slice(2));
