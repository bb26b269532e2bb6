// PostgreSQL point-in-time recovery, Lifeboat and pgBackRest 2.45 side by side
// in one run: full base backup, a second base backup of an unchanged cluster,
// restore to a time until the server accepts writes, and the archive_command's
// time per segment and archive lag under pgbench at full speed, first with
// synchronous pushing, then again with asynchronous pushing (Lifeboat's
// wal_push.async, pgBackRest's archive-async=y), then Lifeboat's marker drill
// under that load (the RPO it measures; pgBackRest has no drill), and marker
// drills in streaming mode (wal-stream) under the same load. Two source clusters are cloned
// from one generated data directory, one per tool, so each tool archives alone
// and neither waits on the other's archive_command.
// Every Lifeboat command (backup, restore, the archive_command's wal-push and the
// pusher it starts) is the installed package, packed and installed once into the
// work dir, as users run it; --dev (or --no-installed) runs the checkout's
// TypeScript entry instead, which pays Node's type stripping at every start.
// Writes bench/out/pitr-results.md, pitr-results.json and pitr-run.log.
//
//   node bench/pitr.ts [--scale 70] [--random-mb 250] [--writes 300*scale]
//        [--writes-after 2000] [--lag-seconds 60 (15 below scale 10)] [--rounds 1] [--keep]
//        [--dev | --no-installed]

import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, totalmem, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { freePort, runTool, startCluster, type BenchCluster } from "./support/pg-cluster.ts";
import { benchDatabase, contentSummary, createDataset } from "./support/dataset.ts";
import { duBytes, type MeasureOptions } from "./support/measure.ts";
import { stopOnSignals } from "./support/interrupts.ts";
import {
  clearArchiveLog,
  readArchiveLog,
  sampleLag,
  startArchivingClone,
  switchAndWaitArchived,
  watchLag,
  writeArchiveWrapper,
  type ArchivingCluster,
} from "./support/pitr-archiving.ts";
import { runMarkerDrill } from "./support/pitr-marker-drill.ts";
import { runStreamingMarkerDrills } from "./support/pitr-stream-drill.ts";
import {
  initLifeboatRepository,
  lifeboatArchiveCommand,
  lifeboatBaseBackup,
  lifeboatPitrRestore,
  lifeboatSource,
  prepareLifeboatPitr,
  writeLifeboatConfig,
  type LifeboatPitr,
} from "./support/pitr-lifeboat.ts";
import {
  createStanza,
  pgbackrestArchiveCommand,
  pgbackrestBackup,
  pgbackrestPitrRestore,
  pgbackrestSettings,
  preparePgbackrest,
  writePgbackrestConfig,
  type PgbackrestSetup,
} from "./support/pitr-pgbackrest.ts";
import {
  awaitBackgroundExit,
  end,
  makeSpoolDir,
  processesMentioning,
  pusherLogFacts,
} from "./support/pitr-async.ts";
import { pgbenchFor, pgbenchTransactions, serverNow } from "./support/pitr-workload.ts";
import { restoredServer } from "./support/pitr-restored.ts";
import { developmentEntry, installedEntry } from "./support/pitr-installed.ts";
import {
  renderPitrMarkdown,
  type ArchivingResult,
  type PitrResults,
  type RestoreResult,
  type Tool,
} from "./support/pitr-report.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  allowNegative: true,
  options: {
    scale: { type: "string", default: "70" },
    "random-mb": { type: "string", default: "250" },
    writes: { type: "string" },
    "writes-after": { type: "string", default: "2000" },
    "lag-seconds": { type: "string" },
    rounds: { type: "string", default: "1" },
    keep: { type: "boolean", default: false },
    // The installed package (default) or, with --no-installed / --dev, the checkout's TypeScript
    // entry: every process start then pays Node's type stripping, which dominates a per-segment
    // archive_command.
    installed: { type: "boolean", default: true },
    dev: { type: "boolean", default: false },
    out: { type: "string", default: join(repoRoot, "bench", "out") },
  },
});
const scale = Number(values.scale);
const randomMb = Number(values["random-mb"]);
// Defaults scale with the dataset so a quick run (--scale 2) stays quick: 300 transactions per
// scale unit before the target (21,000 at the default scale), and a 15 s lag run below scale 10.
const writes = Number(values.writes ?? 300 * scale);
const writesAfter = Number(values["writes-after"]);
const lagSeconds = Number(values["lag-seconds"] ?? (scale < 10 ? 15 : 60));
/** pgbench's run around the marker drill (part 5): the drill marks 5 s in and usually ends well before. */
const markerDrillSeconds = lagSeconds;
const rounds = Math.max(1, Number(values.rounds));
const outDir = resolve(values.out);
if (values.dev && process.argv.includes("--installed"))
  throw new Error("--dev and --installed contradict each other: pick one");
const useInstalled = values.installed && !values.dev;
// Lifeboat's wal_push.parallel and pgBackRest's archive-push process-max in the
// asynchronous run: the same four pushes at a time for both.
const asyncParallel = 4;
// Lifeboat's pusher leaves after 30 s idle; past this the bench ends it (and says so).
const backgroundExitSeconds = 45;

const clusters: BenchCluster[] = [];
let workDir = "";
/** The tools' config paths: any process still mentioning one at the end is this run's, and is ended. */
const backgroundMarkers: string[] = [];

function log(message: string) {
  process.stderr.write(`[pitr ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

stopOnSignals({ clusters, workDir: () => workDir, keep: values.keep, log });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function machineFacts(cluster: BenchCluster): Promise<Record<string, string>> {
  const pgbackrest = await runTool("pgbackrest", ["version"]);
  return {
    CPUs: `${cpus().length} (${cpus()[0]?.model ?? "?"})`,
    RAM: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    PostgreSQL: `${await cluster.psql("SHOW server_version")} (default settings, fsync=${await cluster.psql("SHOW fsync")})`,
    pgBackRest: pgbackrest.stdout.trim() || `not found (${pgbackrest.stderr.trim()})`,
    Node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

interface Sources {
  readonly lifeboat: ArchivingCluster;
  readonly pgbackrest: ArchivingCluster;
}

async function main() {
  await mkdir(outDir, { recursive: true });
  workDir = await mkdtemp(join(tmpdir(), "lifeboat-pitr-bench-"));
  await chmod(workDir, 0o755); // postgres must traverse it to the data dirs, configs and repositories
  const logFile = join(outDir, "pitr-run.log");
  await writeFile(logFile, `pitr bench run ${new Date().toISOString()} in ${workDir}\n`);
  const options: MeasureOptions = { workDir, logFile, cwd: repoRoot };

  log(
    `work dir ${workDir}; generating dataset: pgbench -i -s ${scale} + ${randomMb} MB of base64 random text`,
  );
  const origin = await startCluster(workDir, "origin");
  clusters.push(origin);
  const generationStart = performance.now();
  const facts = await createDataset(origin, scale, randomMb);
  log(
    `dataset ready in ${((performance.now() - generationStart) / 1000).toFixed(0)} s: ${(facts.databaseBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  const machine = await machineFacts(origin);
  await origin.stop();

  // What users run: the packed and installed package (built JS), unless --dev. It lives in the
  // work dir, so it goes with it at the end and on Ctrl-C.
  if (useInstalled) log("packing and installing the lifeboat package (npm pack, npm install)");
  const entry = useInstalled ? await installedEntry(workDir) : developmentEntry(repoRoot);
  log(`Lifeboat command: ${entry.description}`);
  const wrapper = await writeArchiveWrapper(workDir);
  const lifeboat = await prepareLifeboatPitr(workDir, entry.script);
  const pgbackrest = await preparePgbackrest(workDir);
  backgroundMarkers.push(lifeboat.configPath, pgbackrest.configPath);
  log("cloning the data directory into one source cluster per tool, archiving on");
  const sources: Sources = {
    lifeboat: await startArchivingClone(
      origin.dataDir,
      join(workDir, "lifeboat-source"),
      "lifeboat-source",
      wrapper,
      lifeboatArchiveCommand(lifeboat),
    ),
    pgbackrest: await startArchivingClone(
      origin.dataDir,
      join(workDir, "pgbackrest-source"),
      "pgbackrest-source",
      wrapper,
      pgbackrestArchiveCommand(pgbackrest),
    ),
  };
  clusters.push(sources.lifeboat, sources.pgbackrest);
  await rm(origin.dataDir, { recursive: true, force: true });
  await initLifeboatRepository(lifeboat, sources.lifeboat.port);
  await createStanza(pgbackrest, sources.pgbackrest);

  const archivingAsync: Partial<Record<Tool, ArchivingResult>> = {};
  const results: PitrResults = {
    startedAt: new Date().toISOString(),
    command: `node bench/pitr.ts ${process.argv.slice(2).join(" ")}`.trim(),
    lifeboatCommand: entry.description,
    machine,
    dataset: {
      pg_database_size: `${(facts.databaseBytes / 2 ** 20).toFixed(0)} MiB (${facts.databaseBytes} bytes)`,
      "pgbench scale": scale,
      "random_blobs rows": `${facts.randomRows} (${facts.randomSource}, 1 KiB each as base64)`,
    },
    layout:
      "two source clusters, one per tool, both copies of one generated data directory (cp -a of the stopped cluster); each archives only to its own tool through a wrapper that times the real archive_command. Tools take turns; the other tool's cluster idles meanwhile.",
    settings: {
      lifeboat: `repository on local disk (file://), zstd level 1 + AES-256-GCM (its fixed format), \`backup\` = pg_basebackup streamed into the repository, archive_command \`lifeboat wal-push app-db %p\`, run as root (archive_command as postgres)`,
      pgbackrest: `${Object.entries(pgbackrestSettings)
        .map(([k, v]) => `${k}=${v}`)
        .join(
          ", ",
        )}, repository on local disk, archive_command \`pgbackrest archive-push %p\`, every command as postgres`,
    },
    backups: { lifeboat: {}, pgbackrest: {} },
    archiving: {},
    archivingAsync,
    asyncSettings: {
      lifeboat: `lifeboat.yaml \`wal_push: { async: true, spool_dir: <fresh postgres-owned dir>, parallel: ${asyncParallel} }\` (wait 60s default), the same archive_command`,
      pgbackrest: `archive-async=y, spool-path=<fresh postgres-owned dir>, [global:archive-push] process-max=${asyncParallel} (backups keep process-max=${pgbackrestSettings["process-max"]}), the same archive_command`,
    },
    problems: [],
  };
  const save = async () => {
    await writeFile(join(outDir, "pitr-results.json"), JSON.stringify(results, null, 2));
    await writeFile(join(outDir, "pitr-results.md"), renderPitrMarkdown(results));
  };

  await runBackups(results, lifeboat, pgbackrest, options);
  await save();
  await runRestores(results, sources, lifeboat, pgbackrest, options);
  await save();
  for (const tool of ["lifeboat", "pgbackrest"] as const) {
    log(`${tool}: pgbench at full speed for ${lagSeconds} s, sampling the archive lag every second`);
    results.archiving[tool] = await runArchiving(sources[tool]);
    await save();
  }
  for (const tool of ["lifeboat", "pgbackrest"] as const) {
    log(`${tool} async: pgbench at full speed for ${lagSeconds} s with asynchronous archiving`);
    archivingAsync[tool] = await runAsyncArchiving(tool, sources[tool], lifeboat, pgbackrest, results);
    await save();
  }
  log(`lifeboat: a marker drill while pgbench writes at full speed for ${markerDrillSeconds} s`);
  results.markerDrill = await runMarkerDrill(sources.lifeboat, lifeboat, markerDrillSeconds, options);
  if (results.markerDrill.problem)
    results.problems.push(`lifeboat marker drill: ${results.markerDrill.problem}`);
  if (results.markerDrill.status !== "passed")
    results.problems.push(
      `lifeboat marker drill: ${results.markerDrill.status ?? "no report"} (see the run log)`,
    );
  await save();
  log(
    `lifeboat: marker drills in streaming mode (wal-stream) while pgbench writes for ${markerDrillSeconds} s`,
  );
  results.streamDrills = await runStreamingMarkerDrills(
    sources.lifeboat,
    lifeboat,
    markerDrillSeconds,
    options,
  );
  if (results.streamDrills.problem)
    results.problems.push(`lifeboat streaming drills: ${results.streamDrills.problem}`);
  for (const drill of results.streamDrills.drills)
    if (drill.status !== "passed")
      results.problems.push(`lifeboat streaming drill: ${drill.status ?? "no report"} (see the run log)`);
  await save();
  for (const tool of ["lifeboat", "pgbackrest"] as const) {
    const failed = Number(await sources[tool].psql("SELECT failed_count FROM pg_stat_archiver"));
    if (failed > 0)
      results.problems.push(`${tool} source: pg_stat_archiver.failed_count ${failed} over the whole run`);
  }
  await save();
  process.stdout.write(renderPitrMarkdown(results));
  log(`results in ${join(outDir, "pitr-results.md")}; command log in ${logFile}`);
}

async function growth<T>(dir: string, run: () => Promise<T>): Promise<{ backup: T; repoGrowth: number }> {
  const before = await duBytes(dir);
  const backup = await run();
  return { backup, repoGrowth: (await duBytes(dir)) - before };
}

async function runBackups(
  results: PitrResults,
  lifeboat: LifeboatPitr,
  pgbackrest: PgbackrestSetup,
  options: MeasureOptions,
) {
  const lb = results.backups.lifeboat;
  const br = results.backups.pgbackrest;
  log("1. full base backup: lifeboat backup");
  lb.first = await growth(lifeboat.repoDir, () => lifeboatBaseBackup(lifeboat, "lifeboat backup 1", options));
  log("1. full base backup: pgbackrest backup --type=full");
  br.first = await growth(pgbackrest.repoDir, () =>
    pgbackrestBackup(pgbackrest, "full", "pgbackrest backup --type=full 1", options),
  );
  log("2. second base backup of the unchanged clusters");
  lb.second = await growth(lifeboat.repoDir, () =>
    lifeboatBaseBackup(lifeboat, "lifeboat backup 2", options),
  );
  br.second = await growth(pgbackrest.repoDir, () =>
    pgbackrestBackup(pgbackrest, "full", "pgbackrest backup --type=full 2", options),
  );
  br.incremental = await growth(pgbackrest.repoDir, () =>
    pgbackrestBackup(pgbackrest, "incr", "pgbackrest backup --type=incr", options),
  );
  for (const [name, run] of [
    ["lifeboat backup 1", lb.first],
    ["pgbackrest full 1", br.first],
    ["lifeboat backup 2", lb.second],
    ["pgbackrest full 2", br.second],
    ["pgbackrest incr", br.incremental],
  ] as const) {
    const m = run.backup.measurement;
    if (!m.ok) results.problems.push(`${name} failed (exit ${m.exitCode}): ${m.stderrTail.trim()}`);
  }
}

async function both<T>(run: (tool: Tool, source: ArchivingCluster) => Promise<T>, sources: Sources) {
  const [lifeboat, pgbackrest] = await Promise.all([
    run("lifeboat", sources.lifeboat),
    run("pgbackrest", sources.pgbackrest),
  ]);
  return { lifeboat, pgbackrest };
}

async function runRestores(
  results: PitrResults,
  sources: Sources,
  lifeboat: LifeboatPitr,
  pgbackrest: PgbackrestSetup,
  options: MeasureOptions,
) {
  log(`3. ${writes} pgbench transactions on both sources, then the target, then ${writesAfter} more`);
  const walStart = await both((_, c) => c.psql("SELECT pg_current_wal_lsn()"), sources);
  // Both sources take the same writes at the same time, so one timestamp is the target for both.
  const writesBefore = await both((_, c) => pgbenchTransactions(c, writes), sources);
  const expected = await both((_, c) => contentSummary(c, benchDatabase), sources);
  const targetTime = await serverNow(sources.lifeboat);
  const walToTargetBytes = await both(
    async (tool, c) =>
      Number(await c.psql(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${walStart[tool]}')`)),
    sources,
  );
  await sleep(1200); // every commit after the target is at least a second past it
  const writesAfterRun = await both((_, c) => pgbenchTransactions(c, writesAfter), sources);
  const latest = await both((_, c) => contentSummary(c, benchDatabase), sources);
  for (const tool of ["lifeboat", "pgbackrest"] as const) {
    if (latest[tool] === expected[tool])
      results.problems.push(`${tool}: the writes after the target left the content summary unchanged`);
  }
  await both((_, c) => switchAndWaitArchived(c), sources);
  results.restore = {
    targetTime,
    writesBefore,
    writesAfter: writesAfterRun,
    walToTargetBytes,
    expected,
    latest,
    rounds: [],
  };
  for (let round = 1; round <= rounds; round++) {
    const result: Partial<Record<Tool, RestoreResult>> = {};
    results.restore.rounds.push(result);
    // Alternate who goes first, so drifting load from other work hits both alike.
    const order: Tool[] = round % 2 ? ["lifeboat", "pgbackrest"] : ["pgbackrest", "lifeboat"];
    for (const tool of order) {
      log(`3. round ${round}: ${tool} restore to ${targetTime}`);
      const port = await freePort();
      const dataDir = join(workDir, `${tool}-restored`);
      const server = restoredServer(`${tool}-restored`, dataDir, port);
      clusters.push(server);
      try {
        const run =
          tool === "lifeboat"
            ? await lifeboatPitrRestore(lifeboat, dataDir, port, targetTime, options)
            : await pgbackrestPitrRestore(pgbackrest, dataDir, port, targetTime, options);
        const restoredSummary = run.measurement.ok
          ? await contentSummary(server, benchDatabase).catch((error: Error) => `error: ${error.message}`)
          : undefined;
        result[tool] = { ...run, ...(restoredSummary !== undefined ? { restoredSummary } : {}) };
        if (!run.measurement.ok)
          results.problems.push(
            `${tool} restore, round ${round}, failed (exit ${run.measurement.exitCode}): ${run.measurement.stderrTail.trim()}`,
          );
        else if (restoredSummary !== expected[tool])
          results.problems.push(
            `${tool} restore, round ${round}: content ${restoredSummary}, expected ${expected[tool]}`,
          );
      } finally {
        await server.stop();
        clusters.splice(clusters.indexOf(server), 1);
      }
    }
  }
}

async function archiverFailures(source: BenchCluster): Promise<number> {
  return Number(await source.psql("SELECT failed_count FROM pg_stat_archiver"));
}

async function runArchiving(source: ArchivingCluster): Promise<ArchivingResult> {
  await switchAndWaitArchived(source);
  await source.psql("CHECKPOINT"); // every tool starts right after a checkpoint: the same full-page writes
  await clearArchiveLog(source.archiveLog);
  const failuresBefore = await archiverFailures(source);
  const lag = watchLag(source);
  const pgbench = await pgbenchFor(source, lagSeconds);
  const samples = await lag.stop();
  // Catch-up: polled more often than the lag, so its figure is not rounded to seconds.
  const pgbenchEnded = performance.now();
  let drainSeconds: number | undefined;
  while (performance.now() - pgbenchEnded < 600_000) {
    const now = await sampleLag(source, pgbenchEnded);
    if (now.lagSegments === 0 && now.readyFiles === 0) {
      drainSeconds = now.at;
      break;
    }
    await sleep(100);
  }
  return {
    pgbench,
    pushes: await readArchiveLog(source.archiveLog),
    lag: samples,
    ...(drainSeconds !== undefined ? { drainSeconds } : {}),
    archiverFailures: (await archiverFailures(source)) - failuresBefore,
  };
}

/**
 * Part 4 again with the tool's asynchronous pushing: its config file switched
 * (PostgreSQL keeps the same archive_command and is not restarted), a fresh
 * spool directory, then the config switched back and the background processes
 * waited for, so nothing of this variant runs during the next one.
 */
async function runAsyncArchiving(
  tool: Tool,
  source: ArchivingCluster,
  lifeboat: LifeboatPitr,
  pgbackrest: PgbackrestSetup,
  results: PitrResults,
): Promise<ArchivingResult> {
  const marker = tool === "lifeboat" ? lifeboat.configPath : pgbackrest.configPath;
  const leftovers = await processesMentioning(marker);
  if (leftovers.length > 0)
    results.problems.push(`${tool}: ${leftovers.length} process(es) still running before the async run`);
  const spoolDir = await makeSpoolDir(workDir, `${tool}-async-spool`);
  const useAsync = (on: boolean) =>
    tool === "lifeboat"
      ? writeLifeboatConfig(lifeboat, source.port, on ? { spoolDir, parallel: asyncParallel } : undefined)
      : writePgbackrestConfig(
          pgbackrest,
          source,
          on ? { spoolPath: spoolDir, processMax: asyncParallel } : undefined,
        );
  await useAsync(true);
  let run: ArchivingResult;
  try {
    run = await runArchiving(source);
  } finally {
    await useAsync(false);
  }
  const background = await awaitBackgroundExit(marker, backgroundExitSeconds);
  if (background.leftAfterSeconds === undefined)
    results.problems.push(
      `${tool} async: background process(es) still running ${backgroundExitSeconds} s after the catch-up, ended by pid ${background.ended.join(", ")}: ${background.seen.join(" | ")}`,
    );
  if (tool === "pgbackrest") return { ...run, background };
  const pusherLog = await pusherLogFacts(join(spoolDir, lifeboatSource, "pusher.log"));
  if (pusherLog.archived.length === 0)
    results.problems.push("lifeboat async: the pusher's log reports no archived files (did a pusher run?)");
  if (pusherLog.failedPushes > 0)
    results.problems.push(`lifeboat async: the pusher logged ${pusherLog.failedPushes} failed push(es)`);
  return { ...run, background, pusherLog };
}

try {
  await main();
} finally {
  // A run that failed mid-way may leave a pusher behind: end it by pid before its work folder goes.
  for (const marker of backgroundMarkers) await end(await processesMentioning(marker));
  for (const cluster of clusters) await cluster.stop();
  if (workDir && !values.keep) await rm(workDir, { recursive: true, force: true });
  else if (workDir) log(`kept ${workDir} (clusters stopped)`);
}
