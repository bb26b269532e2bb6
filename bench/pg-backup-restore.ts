// PostgreSQL backup/restore benchmark: the seeds' `pg_dumpall | gzip` runbook,
// the raw `pg_dump -Fd -j2` floor and Lifeboat, side by side on one generated
// database in throwaway clusters. Writes bench/out/results.md and results.json.
//
//   node bench/pg-backup-restore.ts [--scale 70] [--random-mb 250] [--keep]
//        [--contenders seed,raw,lifeboat] [--jobs 2]

import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, totalmem, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { startCluster, stopClusterNow, type BenchCluster } from "./support/pg-cluster.ts";
import { applyChurn, benchDatabase, contentSummary, createDataset } from "./support/dataset.ts";
import { duBytes, runningChildren, type MeasureOptions } from "./support/measure.ts";
import {
  lifeboatBackup,
  lifeboatInit,
  lifeboatRestore,
  prepareLifeboat,
  profiling,
  runRawFloor,
  runSeedPipeline,
} from "./support/contenders.ts";
import { renderMarkdown, type BenchResults, type LifeboatResults } from "./support/report.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "70" },
    "random-mb": { type: "string", default: "250" },
    keep: { type: "boolean", default: false },
    contenders: { type: "string", default: "seed,raw,lifeboat" },
    jobs: { type: "string", default: "2" },
    out: { type: "string", default: join(repoRoot, "bench", "out") },
    "cpu-prof": { type: "boolean", default: false },
  },
});
const scale = Number(values.scale);
const randomMb = Number(values["random-mb"]);
const contenders = new Set(values.contenders.split(","));
const outDir = resolve(values.out);

const clusters: BenchCluster[] = [];
let workDir = "";

function log(message: string) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// Ctrl-C / kill: end the measured command's process group, stop the clusters, tidy up.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping clusters`);
    for (const pid of runningChildren) {
      try {
        process.kill(-pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    for (const cluster of clusters) stopClusterNow(cluster.dataDir);
    if (workDir && !values.keep)
      void rm(workDir, { recursive: true, force: true }).finally(() => process.exit(130));
    else process.exit(130);
  });
}

async function machineFacts(cluster: BenchCluster): Promise<Record<string, string>> {
  const version = await cluster.psql("SHOW server_version");
  const fsync = await cluster.psql("SHOW fsync");
  return {
    CPUs: `${cpus().length} (${cpus()[0]?.model ?? "?"})`,
    RAM: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    PostgreSQL: `${version} (default settings, fsync=${fsync})`,
    Node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

async function runLifeboat(
  source: BenchCluster,
  target: BenchCluster,
  options: MeasureOptions,
  randomSource: string,
): Promise<LifeboatResults> {
  const setup = await prepareLifeboat(
    source,
    workDir,
    join(repoRoot, "src", "cli", "main.ts"),
    Number(values.jobs),
  );
  log("lifeboat init");
  const init = await lifeboatInit(setup, options);
  if (!init.ok) return { problem: `init failed (exit ${init.exitCode}): ${init.stderrTail.trim()}` };
  log("lifeboat backup (full)");
  const backup = await lifeboatBackup(setup, source, "lifeboat backup 1", options);
  if (!backup.measurement.ok) {
    return {
      backup,
      problem: `backup failed (exit ${backup.measurement.exitCode}): ${backup.measurement.stderrTail.trim()}`,
    };
  }
  const repoBytesAfterFirst = await duBytes(setup.repoDir);
  log("lifeboat restore");
  const { restore, restoredSummary, phases: restorePhases } = await lifeboatRestore(setup, target, options);
  const problem = restore.ok
    ? undefined
    : `restore failed (exit ${restore.exitCode}): ${restore.stderrTail.trim()}`;
  log("churn: every 100th row, then lifeboat backup 2");
  await applyChurn(source, "spread", randomSource);
  const second = await lifeboatBackup(setup, source, "lifeboat backup 2 (spread churn)", options);
  log("churn: contiguous 1%, then lifeboat backup 3");
  await applyChurn(source, "clustered", randomSource);
  const clustered = await lifeboatBackup(setup, source, "lifeboat backup 3 (clustered churn)", options);
  return { backup, restore, restoredSummary, restorePhases, second, clustered, repoBytesAfterFirst, problem };
}

async function main() {
  await mkdir(outDir, { recursive: true });
  workDir = await mkdtemp(join(tmpdir(), "lifeboat-bench-"));
  await chmod(workDir, 0o755); // the postgres user must traverse it to its data dirs
  const logFile = join(outDir, "run.log");
  await writeFile(logFile, `bench run ${new Date().toISOString()} in ${workDir}\n`);
  const options: MeasureOptions = { workDir, logFile, cwd: repoRoot };
  if (values["cpu-prof"]) {
    profiling.dir = join(outDir, "profiles");
    await mkdir(profiling.dir, { recursive: true });
  }

  log(`work dir ${workDir}; starting clusters`);
  const source = await startCluster(workDir, "source");
  clusters.push(source);
  const target = await startCluster(workDir, "restore");
  clusters.push(target);

  log(`generating dataset: pgbench -i -s ${scale} + ${randomMb} MB of base64 random text`);
  const generationStart = performance.now();
  const facts = await createDataset(source, scale, randomMb);
  log(
    `dataset ready in ${((performance.now() - generationStart) / 1000).toFixed(0)} s: ${(facts.databaseBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  const sourceSummary = await contentSummary(source, benchDatabase);

  const results: {
    -readonly [K in keyof BenchResults]: BenchResults[K];
  } = {
    startedAt: new Date().toISOString(),
    command: `node bench/pg-backup-restore.ts ${process.argv.slice(2).join(" ")}`.trim(),
    machine: await machineFacts(source),
    dataset: {
      pg_database_size: `${(facts.databaseBytes / 2 ** 20).toFixed(0)} MiB (${facts.databaseBytes} bytes)`,
      "pgbench scale": scale,
      "random_blobs rows": `${facts.randomRows} (${facts.randomSource}, 1 KiB each as base64)`,
    },
    sourceSummary,
  };
  const save = async () => {
    await writeFile(join(outDir, "results.json"), JSON.stringify(results, null, 2));
    await writeFile(join(outDir, "results.md"), renderMarkdown(results));
  };

  if (contenders.has("seed")) {
    log("seed pipeline: pg_dumpall | gzip, then gunzip -c | psql");
    results.seed = await runSeedPipeline(source, target, options);
    await target.psql(`DROP DATABASE IF EXISTS ${benchDatabase}`);
    await save();
  }
  if (contenders.has("raw")) {
    log("raw floor: pg_dump -Fd -j2 -Z0, then pg_restore -j2");
    results.raw = await runRawFloor(source, target, options);
    await target.psql("DROP DATABASE IF EXISTS restored_raw");
    await save();
  }
  if (contenders.has("lifeboat")) {
    results.lifeboat = await runLifeboat(source, target, options, facts.randomSource);
    await save();
  }
  await save();
  process.stdout.write(renderMarkdown(results));
  log(`results in ${join(outDir, "results.md")}; command log in ${logFile}`);
}

try {
  await main();
} finally {
  for (const cluster of clusters) await cluster.stop();
  if (workDir && !values.keep) await rm(workDir, { recursive: true, force: true });
  else if (workDir) log(`kept ${workDir} (clusters stopped)`);
}
