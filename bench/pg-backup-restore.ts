// PostgreSQL backup/restore benchmark: the seeds' `pg_dumpall | gzip` runbook,
// the raw `pg_dump -Fd -j2` floor and Lifeboat, side by side on one generated
// database in throwaway clusters. Writes bench/out/results.md and results.json.
//
//   node bench/pg-backup-restore.ts [--scale 70] [--random-mb 250] [--keep]
//        [--contenders seed,raw,lifeboat] [--rounds 1] [--jobs 2] [--cpu-prof]

import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, totalmem, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { startCluster, type BenchCluster } from "./support/pg-cluster.ts";
import { applyChurn, benchDatabase, contentSummary, createDataset } from "./support/dataset.ts";
import { type MeasureOptions } from "./support/measure.ts";
import { stopOnSignals } from "./support/interrupts.ts";
import {
  lifeboatBackup,
  prepareLifeboat,
  profiling,
  runLifeboatRound,
  runRawFloor,
  runSeedPipeline,
} from "./support/contenders.ts";
import { renderMarkdown, type BenchResults, type RoundResult } from "./support/report.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "70" },
    "random-mb": { type: "string", default: "250" },
    keep: { type: "boolean", default: false },
    contenders: { type: "string", default: "seed,raw,lifeboat" },
    jobs: { type: "string", default: "2" },
    rounds: { type: "string", default: "1" },
    out: { type: "string", default: join(repoRoot, "bench", "out") },
    "cpu-prof": { type: "boolean", default: false },
  },
});
const scale = Number(values.scale);
const randomMb = Number(values["random-mb"]);
const contenders = new Set(values.contenders.split(","));
const rounds = Math.max(1, Number(values.rounds));
const outDir = resolve(values.out);

const clusters: BenchCluster[] = [];
let workDir = "";

function log(message: string) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

stopOnSignals({ clusters, workDir: () => workDir, keep: values.keep, log });

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
    rounds: [],
  };
  const save = async () => {
    await writeFile(join(outDir, "results.json"), JSON.stringify(results, null, 2));
    await writeFile(join(outDir, "results.md"), renderMarkdown(results));
  };

  const lifeboat = contenders.has("lifeboat")
    ? await prepareLifeboat(source, workDir, join(repoRoot, "src", "cli", "main.ts"), Number(values.jobs))
    : undefined;
  // Contenders take turns within each round, so drifting load from other work
  // on the machine hits all of them alike; the report shows medians.
  for (let round = 1; round <= rounds; round++) {
    const result: RoundResult = {};
    results.rounds.push(result);
    if (contenders.has("seed")) {
      log(`round ${round}: seed pipeline: pg_dumpall | gzip, then gunzip -c | psql`);
      result.seed = await runSeedPipeline(source, target, options);
      await target.psql(`DROP DATABASE IF EXISTS ${benchDatabase}`);
      await save();
    }
    if (contenders.has("raw")) {
      log(`round ${round}: raw floor: pg_dump -Fd -j2 -Z0, then pg_restore -j2`);
      result.raw = await runRawFloor(source, target, options);
      await target.psql("DROP DATABASE IF EXISTS restored_raw");
      await save();
    }
    if (lifeboat) {
      log(`round ${round}: lifeboat init, backup, restore`);
      result.lifeboat = await runLifeboatRound(lifeboat, source, target, options);
      await target.psql("DROP DATABASE IF EXISTS restored_lb");
      await save();
    }
  }
  // Incremental backups on top of the last round's full backup.
  const last = results.rounds.at(-1)?.lifeboat;
  if (lifeboat && last?.backup?.measurement.ok) {
    log("churn: every 100th row, then a second lifeboat backup");
    const spreadWal = await applyChurn(source, "spread", facts.randomSource);
    const second = await lifeboatBackup(lifeboat, source, "lifeboat backup 2 (spread churn)", options);
    log("churn: a contiguous 1% of rows, then a third lifeboat backup");
    const clusteredWal = await applyChurn(source, "clustered", facts.randomSource);
    const clustered = await lifeboatBackup(lifeboat, source, "lifeboat backup 3 (clustered churn)", options);
    results.churn = {
      first: last.backup,
      second: { ...second, churnWalBytes: spreadWal.walBytes },
      clustered: { ...clustered, churnWalBytes: clusteredWal.walBytes },
    };
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
