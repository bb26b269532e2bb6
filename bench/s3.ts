// The S3 benchmark (repository format 2 on an object store), in one run:
// 1. `lifeboat backup` / `lifeboat restore` of the PostgreSQL bench database
//    with the repository on the filesystem and on S3 (a local s3rver), and
//    restic 0.14 backing up the same kind of dump to the same s3rver;
// 2. the requests each S3 contender's backup and restore make, by kind, and
//    Lifeboat's PUTs per GB stored (goal: <= 40);
// 3. the requests of a backup that adds nothing at 10, 100 and 1,000
//    snapshots (goal: independent of the repository's size);
// 4. `lifeboat snapshots --json` over 100,000 snapshots with a warm local
//    cache (goal: < 1 s);
// 5. `forget --keep-last 10` + `prune` of a 1,000-snapshot repository.
// Writes bench/out/s3-results.md and s3-results.json, every command's output
// to bench/out/s3-run.log; prints the Markdown (or, with --json, the JSON).
//
//   node bench/s3.ts [--scale 70] [--random-mb 250] [--rounds 1] [--jobs 2]
//        [--noop-steps 10,100,1000] [--list-snapshots 100000]
//        [--parts pg,noop,prune,list] [--json] [--keep]
//
// A quick run (a minute or two on 2 cores):
//   node bench/s3.ts --scale 2 --random-mb 10 --noop-steps 10,50 --list-snapshots 2000

import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, totalmem, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startS3Server, useS3Environment } from "../test/support/s3-server.ts";
import { prepareLifeboat, runLifeboatRound } from "./support/contenders.ts";
import { startCountingProxy } from "./support/counting-proxy.ts";
import { benchDatabase, contentSummary, createDataset } from "./support/dataset.ts";
import { type MeasureOptions } from "./support/measure.ts";
import { stopOnSignals } from "./support/interrupts.ts";
import { startCluster, runTool, type BenchCluster } from "./support/pg-cluster.ts";
import {
  prepareLifeboatS3,
  runLifeboatS3Round,
  runResticS3Round,
  type S3Site,
} from "./support/s3-contenders.ts";
import { renderS3Markdown, type S3BenchResults, type S3RoundResult } from "./support/s3-report.ts";
import { measureNoopBackups, measurePrune } from "./support/s3-scaling.ts";
import { measureListing } from "./support/snapshot-listing.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(repoRoot, "src", "cli", "main.ts");
const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "70" },
    "random-mb": { type: "string", default: "250" },
    rounds: { type: "string", default: "1" },
    jobs: { type: "string", default: "2" },
    "noop-steps": { type: "string", default: "10,100,1000" },
    "list-snapshots": { type: "string", default: "100000" },
    parts: { type: "string", default: "pg,noop,prune,list" },
    json: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    out: { type: "string", default: join(repoRoot, "bench", "out") },
  },
});
const parts = new Set(values.parts.split(","));
const rounds = Math.max(1, Number(values.rounds));
const jobs = Number(values.jobs);
const outDir = resolve(values.out);

const clusters: BenchCluster[] = [];
const stoppers: (() => Promise<void>)[] = [];
let workDir = "";

function log(message: string) {
  process.stderr.write(`[bench-s3 ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// s3rver exits when this process does (its stdin closes).
stopOnSignals({ clusters, workDir: () => workDir, keep: values.keep, log });

async function machineFacts(): Promise<Record<string, string>> {
  const restic = await runTool("restic", ["version"]).catch(() => ({ stdout: "not installed" }));
  return {
    CPUs: `${cpus().length} (${cpus()[0]?.model ?? "?"})`,
    RAM: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    Node: process.version,
    restic: restic.stdout.trim().split(" compiled")[0] ?? "?",
    S3: "s3rver 3.7 (local, filesystem store) behind a counting proxy",
  };
}

/** Part 1 and 2: the three contenders on the bench database, taking turns each round. */
async function benchDatabaseRounds(results: S3BenchResults, site: S3Site, options: MeasureOptions) {
  log("starting PostgreSQL clusters");
  const source = await startCluster(workDir, "source");
  clusters.push(source);
  const target = await startCluster(workDir, "restore");
  clusters.push(target);
  const scale = Number(values.scale);
  const randomMb = Number(values["random-mb"]);
  log(`generating dataset: pgbench -i -s ${scale} + ${randomMb} MB of base64 random text`);
  const facts = await createDataset(source, scale, randomMb);
  Object.assign(results.dataset, {
    pg_database_size: `${(facts.databaseBytes / 2 ** 20).toFixed(0)} MiB`,
    "pgbench scale": scale,
    "random_blobs rows": facts.randomRows,
    PostgreSQL: await source.psql("SHOW server_version"),
  });
  Object.assign(results, { sourceSummary: await contentSummary(source, benchDatabase) });
  const fsSetup = await prepareLifeboat(source, workDir, cli, jobs);
  const contenders = ["fs", "s3", "restic"] as const;
  for (let round = 0; round < rounds; round++) {
    const result: S3RoundResult = {};
    results.rounds.push(result);
    for (let i = 0; i < contenders.length; i++) {
      const which = contenders[(i + round) % contenders.length]!;
      log(`round ${round + 1}: ${which}`);
      if (which === "fs") {
        result.fs = await runLifeboatRound(fsSetup, source, target, options);
        await target.psql("DROP DATABASE IF EXISTS restored_lb");
        await rm(fsSetup.repoDir, { recursive: true, force: true });
      } else if (which === "s3") {
        const setup = await prepareLifeboatS3(site, source, workDir, cli, jobs);
        result.s3 = await runLifeboatS3Round(site, setup, source, target, options);
        await target.psql("DROP DATABASE IF EXISTS restored_lb");
      } else {
        result.restic = await runResticS3Round(site, source, target, options, jobs);
      }
      const problem = result[which]?.problem;
      if (problem) results.problems.push(`round ${round + 1}, ${which}: ${problem}`);
    }
  }
  for (const cluster of clusters.splice(0)) await cluster.stop();
}

async function main() {
  await mkdir(outDir, { recursive: true });
  workDir = await mkdtemp(join(tmpdir(), "lifeboat-bench-s3-"));
  await chmod(workDir, 0o755); // the postgres user must traverse it to its data dirs
  const logFile = join(outDir, "s3-run.log");
  await writeFile(logFile, `bench run ${new Date().toISOString()} in ${workDir}\n`);
  const options: MeasureOptions = { workDir, logFile, cwd: repoRoot };
  useS3Environment(); // this process lists buckets and grows repositories through the SDK's chain

  const server = await startS3Server();
  stoppers.push(() => server.stop());
  const proxy = await startCountingProxy(server.endpoint);
  stoppers.unshift(() => proxy.close());
  const site = { server, proxy };

  const results: S3BenchResults = {
    startedAt: new Date().toISOString(),
    command: `node bench/s3.ts ${process.argv.slice(2).join(" ")}`.trim(),
    machine: await machineFacts(),
    dataset: {},
    sourceSummary: "",
    rounds: [],
    problems: [],
  };
  const save = async () => {
    await writeFile(join(outDir, "s3-results.json"), JSON.stringify(results, null, 2));
    await writeFile(join(outDir, "s3-results.md"), renderS3Markdown(results));
  };

  if (parts.has("pg")) await benchDatabaseRounds(results, site, options);
  await save();
  if (parts.has("noop") || parts.has("prune")) {
    const steps = values["noop-steps"].split(",").map(Number);
    results.noop = await measureNoopBackups(site, cli, steps, options, log);
    await save();
    if (parts.has("prune")) {
      log("forget --keep-last 10, prune, check, restore");
      results.prune = await measurePrune(site, cli, results.noop, options);
      await save();
    }
  }
  if (parts.has("list")) {
    results.listing = await measureListing(cli, Number(values["list-snapshots"]), options, log);
    await save();
  }
  process.stdout.write(values.json ? JSON.stringify(results, null, 2) + "\n" : renderS3Markdown(results));
  log(`results in ${join(outDir, "s3-results.md")}; command log in ${logFile}`);
}

try {
  await main();
} finally {
  for (const cluster of clusters) await cluster.stop();
  for (const stop of stoppers) await stop().catch(() => undefined);
  if (workDir && !values.keep) await rm(workDir, { recursive: true, force: true });
  else if (workDir) log(`kept ${workDir}`);
}
