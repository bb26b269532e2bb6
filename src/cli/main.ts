#!/usr/bin/env node
// The lifeboat command line. Commands are plain functions in ./commands; this
// file only wires arguments to them and turns failures into documented exit
// codes (docs/errors.md) and, with --json, a JSON error document.

import { Command, CommanderError, Option } from "commander";
import { parseDuration } from "../domain/duration.ts";
import { ExitCode, LifeboatError } from "../errors.ts";
import { redact, redactDeep } from "../runtime/redact.ts";
import { lifeboatVersion } from "../version.ts";
import { createOutput } from "./output.ts";
import type { CommandEnv, GlobalOptions } from "./session.ts";

// Each action imports its command module (and through it pg, zod, yaml, the
// repository, the engines) only when it runs: `--help` and `--version` load
// commander and this file alone, so they start fast enough for a WAL archive
// command that runs once per segment. test/cli-help.test.ts checks it.

const abort = new AbortController();

/** The commands that keep run records, and so beat, notify and export metrics (cli/after-run.ts). */
const RECORDING_COMMANDS: ReadonlySet<string> = new Set(["backup", "drill", "check", "prune", "forget"]);

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
    .action(async (sources: string[], flags: { tag?: string[] }, command: Command) => {
      const { backupCommand } = await import("./commands/backup.ts");
      await backupCommand(await commandEnv(command), sources, flags);
    });

  program
    .command("snapshots")
    .description("list snapshots, oldest first")
    .argument("[source...]", "only these sources")
    .action(async (sources: string[], _options, command: Command) => {
      const { snapshotsCommand } = await import("./commands/snapshots.ts");
      await snapshotsCommand(await commandEnv(command), sources);
    });

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
    .option(
      "--target-not-source",
      "restore even though Lifeboat cannot prove the target is not the source (identity unreadable)",
    )
    .option("--dry-run", "show what would be done, change nothing")
    .option(
      "--target-time <time>",
      "postgres physical: recover to this moment (ISO-8601 with a zone, e.g. '2026-01-25 14:30:00+00')",
    )
    .option("--target-lsn <lsn>", "postgres physical: recover to this WAL position (e.g. 0/3000028)")
    .option(
      "--target-name <name>",
      "postgres physical: recover to this restore point (pg_create_restore_point)",
    )
    .option("--target-xid <xid>", "postgres physical: recover to the commit of this transaction")
    .option("--immediate", "postgres physical: recover only to the end of the base backup")
    .option(
      "--latest",
      "postgres physical: recover every archived WAL record (the default for a data directory)",
    )
    .addOption(
      new Option("--target-action <action>", "postgres physical: once the target is reached")
        .choices(["promote", "pause", "shutdown"])
        .default("promote"),
    )
    .option("--target-timeline <n>", "postgres physical: recover along this timeline (default: the newest)")
    .option("--start", "postgres physical: start the restored server and wait until it reached the target")
    .option("--port <port>", "postgres physical: with --start, the port it listens on (localhost)")
    .action(async (source: string, flags, command: Command) => {
      const { restoreCommand } = await import("./commands/restore.ts");
      await restoreCommand(await commandEnv(command), source, flags);
    });

  program
    .command("wal-push")
    .description(
      "archive one WAL file into the repository (PostgreSQL's archive_command: wal-push SOURCE %p)",
    )
    .argument("<source>", "source name (a postgres source with mode: physical or both)")
    .argument("<path>", "the file PostgreSQL passes as %p")
    .action(async (source: string, path: string, _options, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const { tryFastWalPush } = await import("./commands/wal-push-fast.ts");
      if (await tryFastWalPush(globals.config, source, path, !!globals.json)) return;
      const { walPushCommand } = await import("./commands/wal.ts");
      await walPushCommand(await commandEnv(command), source, path);
    });

  program
    .command("wal-pusher", { hidden: true })
    .description("the background pusher of wal_push.async (started by wal-push)")
    .argument("<source>", "source name")
    .argument("<wal-dir>", "the cluster's pg_wal directory")
    .action(async (source: string, walDir: string, _options, command: Command) => {
      const { walPusherCommand } = await import("./commands/wal.ts");
      await walPusherCommand(await commandEnv(command), source, walDir);
    });

  program
    .command("wal-fetch")
    .description(
      "write one archived WAL file where PostgreSQL asks (restore_command: wal-fetch SOURCE %f %p); exit 1 when it is not archived",
    )
    .argument("<source>", "source name")
    .argument("<name>", "the file name PostgreSQL passes as %f")
    .argument("<path>", "where to write it, as PostgreSQL passes %p")
    .option("--system-id <id>", "the cluster's system identifier (default: the data directory it runs in)")
    .action(async (source: string, name: string, path: string, flags, command: Command) => {
      const { walFetchCommand } = await import("./commands/wal.ts");
      await walFetchCommand(await commandEnv(command), source, name, path, flags);
    });

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
    .option("--snapshot <id>", "snapshot id, unique prefix, latest or random", "latest")
    .action(async (sources: string[], flags, command: Command) => {
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

  const key = program.command("key").description("manage the passwords that unlock the repository");
  key
    .command("list")
    .description("list the repository's keys")
    .action(async (_options, command: Command) => {
      const { keyListCommand } = await import("./commands/key.ts");
      await keyListCommand(await commandEnv(command));
    });
  key
    .command("add")
    .description("add a password; it is read from $LIFEBOAT_NEW_PASSWORD or --new-password-file")
    .option("--new-password-env <name>", "variable holding the new password", "LIFEBOAT_NEW_PASSWORD")
    .option("--new-password-file <path>", "file whose first line is the new password")
    .action(async (flags, command: Command) => {
      const { keyAddCommand } = await import("./commands/key.ts");
      await keyAddCommand(await commandEnv(command), flags);
    });
  key
    .command("remove")
    .description("remove a key by id (or unique prefix)")
    .argument("<id>", "key id")
    .action(async (id: string, _options, command: Command) => {
      const { keyRemoveCommand } = await import("./commands/key.ts");
      await keyRemoveCommand(await commandEnv(command), id);
    });

  const repair = program.command("repair").description("repair damaged repository metadata");
  repair
    .command("config")
    .description("rewrite a damaged config from the authenticated copy sealed in the key files")
    .action(async (_options, command: Command) => {
      const { repairConfigCommand } = await import("./commands/repair.ts");
      await repairConfigCommand(await commandEnv(command));
    });
  repair
    .command("index")
    .description("rebuild the index (format 2) from the headers of the packs, replacing every index object")
    .option("--dry-run", "read the pack headers and report what the new index holds, write nothing")
    .action(async (flags: { dryRun?: boolean }, command: Command) => {
      const { repairIndexCommand } = await import("./commands/repair.ts");
      await repairIndexCommand(await commandEnv(command), flags);
    });

  program
    .command("migrate")
    .description(
      "convert a format 1 repository (a chunk per object) to format 2 (packs and an index), in place",
    )
    .option("--dry-run", "count what would be converted, change nothing")
    .action(async (flags: { dryRun?: boolean }, command: Command) => {
      const { migrateCommand } = await import("./commands/migrate.ts");
      await migrateCommand(await commandEnv(command), flags);
    });

  program
    .command("unlock")
    .description("remove stale locks left by dead processes")
    .option("--remove-all", "remove every lock, live or not (only when you know the holders are gone)")
    .option("--dry-run", "list the locks, remove nothing")
    .action(async (flags, command: Command) => {
      const { unlockCommand } = await import("./commands/unlock.ts");
      await unlockCommand(await commandEnv(command), flags);
    });

  program
    .command("status")
    .description(
      "are the sources recoverable within their objectives? newest backup, failure, drill and WAL per source (exit 13 stale, 14 failing)",
    )
    .argument("[source...]", "source names (all when none is named)")
    .option("--at <time>", "judge the objectives as of this ISO-8601 time instead of now")
    .action(async (names: string[], flags: { at?: string }, command: Command) => {
      const { statusCommand } = await import("./commands/status.ts");
      await statusCommand(await commandEnv(command), names, flags);
    });

  program
    .command("serve")
    .description("serve /metrics, /healthz/backup, /readyz and the dashboard at / until SIGTERM (read-only)")
    .option(
      "--listen <host:port>",
      "where to listen (a non-loopback address needs --token-env)",
      "127.0.0.1:9187",
    )
    .option("--token-env <name>", "environment variable holding the bearer token every request must carry")
    .option("--cache <duration>", "how long one reading of the repository serves every request", "5s")
    .action(async (flags: { listen?: string; tokenEnv?: string; cache?: string }, command: Command) => {
      const { serveCommand } = await import("./commands/serve.ts");
      await serveCommand(await commandEnv(command), flags);
    });

  program
    .command("alerts")
    .description("Prometheus alert rules derived from the declared objectives")
    .command("render")
    .description("write the rules (stdout, or --out FILE) for Prometheus or the Prometheus Operator")
    .option("--format <format>", "rules (a rule_files file) or prometheusrule (a PrometheusRule)", "rules")
    .option("--out <file>", "write here (whole or not at all) instead of stdout")
    .option(
      "--label <key=value>",
      "prometheusrule: a metadata label, e.g. release=prometheus (repeatable)",
      (pair: string, pairs: string[] | undefined) => [...(pairs ?? []), pair],
    )
    .action(async (flags: { format?: string; out?: string; label?: string[] }, command: Command) => {
      const { alertsRenderCommand } = await import("./commands/alerts.ts");
      await alertsRenderCommand(await commandEnv(command), flags);
    });

  const schedule = program
    .command("schedule")
    .description("the schedules of lifeboat.yaml (docs/schedules.md)");
  schedule
    .command("list")
    .description("each schedule's command and next run times")
    .option("--count <n>", "how many next runs to show", "3")
    .action(async (flags: { count?: string }, command: Command) => {
      const { scheduleListCommand } = await import("./commands/schedule.ts");
      await scheduleListCommand(await commandEnv(command), flags);
    });
  schedule
    .command("run")
    .description("run the schedules in the foreground until SIGTERM (one job at a time, never overlapping)")
    .option(
      "--state <file>",
      "where to remember each job's last run, for catch-up (default: in the cache folder)",
    )
    .option(
      "--listen <host:port>",
      "also serve /metrics, /healthz/backup, /readyz and the dashboard (as lifeboat serve)",
    )
    .option("--token-env <name>", "with --listen off loopback: the variable holding the bearer token")
    .action(async (flags: { state?: string; listen?: string; tokenEnv?: string }, command: Command) => {
      const { scheduleRunCommand } = await import("./commands/schedule.ts");
      await scheduleRunCommand(await commandEnv(command), flags);
    });

  const deploy = program
    .command("deploy")
    .description("render the schedules for Kubernetes, systemd or GitHub Actions");
  deploy
    .command("kubernetes")
    .description(
      "CronJobs (lifeboat-<schedule>), ConfigMap, ServiceAccount, Secret references; optionally serve",
    )
    .option("--out <dir>", "write here instead of stdout")
    .option("--check <dir>", "report every difference from the manifests deployed in DIR (exit 6 when any)")
    .option("--image <image>", "the container image with lifeboat installed")
    .option("--namespace <namespace>", "metadata.namespace of every resource")
    .option("--secret <name>", "the Secret with the repository password (and S3 keys)", "lifeboat")
    .option("--serve", "also a Deployment, Service and ServiceMonitor for lifeboat serve")
    .option("--kustomize", "a Kustomize base (one file per resource) in --out")
    .action(async (flags, command: Command) => {
      const { deployKubernetesCommand } = await import("./commands/deploy.ts");
      await deployKubernetesCommand(await commandEnv(command), flags);
    });
  deploy
    .command("systemd")
    .description("a hardened service and a timer per schedule")
    .option("--out <dir>", "write the units here instead of stdout")
    .option("--lifeboat <path>", "the lifeboat executable on the host", "/usr/local/bin/lifeboat")
    .option("--user <user>", "the user the jobs run as", "lifeboat")
    .action(async (flags, command: Command) => {
      const { deploySystemdCommand } = await import("./commands/deploy.ts");
      await deploySystemdCommand(await commandEnv(command), flags);
    });
  deploy
    .command("github-actions")
    .description("a scheduled drill workflow that uploads the drill reports")
    .option("--out <file>", "write the workflow here instead of stdout")
    .action(async (flags, command: Command) => {
      const { deployGithubActionsCommand } = await import("./commands/deploy.ts");
      await deployGithubActionsCommand(await commandEnv(command), flags);
    });

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
