// Drill benchmark: how long a full `lifeboat drill` of the bench database
// takes, where its time goes (phase shares), and its overhead beyond the
// restore itself. In each round, on the same scratch server, it times a plain
// `lifeboat restore` into a new database and a drill whose scratch database
// lives on that server; overhead = (drill wall - restore wall) / restore wall.
// A drill into a throwaway local cluster (the default) is timed too, against
// the floor issue 15 names: a raw `pg_restore -j2` from an uncompressed `-Fd`
// dump into the (default-settings) scratch server, taken in the same round.
//
//   node bench/drill.ts [--scale 70] [--random-mb 250] [--rounds 2] [--keep]

import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { benchDatabase, createDataset } from "./support/dataset.ts";
import { measure, type Measurement, type MeasureOptions } from "./support/measure.ts";
import { startCluster, stopClusterNow, type BenchCluster } from "./support/pg-cluster.ts";
import { runRawFloor } from "./support/contenders.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const cliPath = join(repoRoot, "src", "cli", "main.ts");
const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "70" },
    "random-mb": { type: "string", default: "250" },
    rounds: { type: "string", default: "2" },
    keep: { type: "boolean", default: false },
    out: { type: "string", default: join(repoRoot, "bench", "out") },
  },
});

const clusters: BenchCluster[] = [];
let workDir = "";
const log = (message: string) =>
  process.stderr.write(`[drill-bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    for (const cluster of clusters) stopClusterNow(cluster.dataDir);
    process.exit(130);
  });
}

interface DrillRun {
  readonly measurement: Measurement;
  readonly status?: string;
  readonly phases: Record<string, number>;
  readonly rto?: number | null;
}

function drillRun(measurement: Measurement): DrillRun {
  try {
    const report = JSON.parse(measurement.stdout) as {
      status: string;
      phases: Record<string, number>;
      rto: { achieved: number | null };
    };
    return { measurement, status: report.status, phases: report.phases, rto: report.rto.achieved };
  } catch {
    return { measurement, phases: {} };
  }
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

function phaseTable(title: string, runs: readonly DrillRun[]): string[] {
  const phases = ["select", "start", "fetch", "restore", "verify", "teardown"];
  const wall = median(runs.map((run) => run.measurement.seconds));
  const rows = phases.map((phase) => {
    const seconds = median(runs.map((run) => run.phases[phase] ?? 0));
    return `| ${phase} | ${seconds.toFixed(2)} s | ${((100 * seconds) / wall).toFixed(1)}% |`;
  });
  const inside = phases.reduce((sum, phase) => sum + median(runs.map((run) => run.phases[phase] ?? 0)), 0);
  return [
    `### ${title}`,
    "",
    `Wall time (median of ${runs.length}): ${wall.toFixed(1)} s; statuses: ${runs.map((run) => run.status ?? "failed").join(", ")}.`,
    "",
    "| phase | seconds (median) | share of wall time |",
    "|---|---|---|",
    ...rows,
    `| process start, repository open, report, notify | ${(wall - inside).toFixed(2)} s | ${((100 * (wall - inside)) / wall).toFixed(1)}% |`,
    "",
  ];
}

async function main() {
  const outDir = resolve(values.out);
  await mkdir(outDir, { recursive: true });
  workDir = await mkdtemp(join(tmpdir(), "lifeboat-drill-bench-"));
  await chmod(workDir, 0o755);
  const options: MeasureOptions = { workDir, logFile: join(outDir, "drill-run.log"), cwd: repoRoot };
  await writeFile(options.logFile, `drill bench ${new Date().toISOString()}\n`);
  const source = await startCluster(workDir, "source");
  clusters.push(source);
  const scratch = await startCluster(workDir, "scratch");
  clusters.push(scratch);
  log(`generating dataset (scale ${values.scale}, ${values["random-mb"]} MB random)`);
  const facts = await createDataset(source, Number(values.scale), Number(values["random-mb"]));
  // Settle the fresh data first (autovacuum's first pass, the checkpoint): otherwise round 1's first
  // contender shares both cores with them (the raw floor took 15 s in round 1 and 8 s in round 2).
  await source.psql("VACUUM (ANALYZE, FREEZE)", benchDatabase);
  await source.psql("CHECKPOINT");

  const configPath = join(workDir, "lifeboat.yaml");
  const repo = join(workDir, "repo");
  await writeFile(
    configPath,
    `repository: { url: "file://${repo}", password_env: LIFEBOAT_PASSWORD }
reports: { dir: "${join(workDir, "reports")}" }
sources:
  bench-db:
    engine: postgres
    url: "${source.url(benchDatabase)}"
    objectives: { rto: 15m, rpo: 24h }
    drill:
      target: { url: "${scratch.url("postgres")}" }
  bench-db-throwaway:
    engine: postgres
    url: "${source.url(benchDatabase)}"
    objectives: { rto: 15m, rpo: 24h }
`,
  );
  const env = { LIFEBOAT_PASSWORD: "bench-only-password-not-a-secret" };
  const cli = (args: string) => `${process.execPath} ${cliPath} -c ${configPath} ${args}`;
  const lb = (label: string, args: string) => measure(label, cli(args), { ...options, env });
  if (!(await lb("init", "init")).ok) throw new Error("init failed");
  const backup = await lb("backup", "backup --json");
  if (!backup.ok) throw new Error(`backup failed: ${backup.stderrTail}`);

  const restores: Measurement[] = [];
  const onServer: DrillRun[] = [];
  const throwaway: DrillRun[] = [];
  const raw: Measurement[] = [];
  for (let round = 1; round <= Number(values.rounds); round++) {
    log(`round ${round}: raw pg_restore -j2 into the scratch server (the floor)`);
    const floor = await runRawFloor(source, scratch, options);
    if (!floor.restore?.ok) throw new Error(`raw restore failed: ${floor.restore?.stderrTail}`);
    raw.push(floor.restore);
    await scratch.psql("DROP DATABASE restored_raw");
    log(`round ${round}: lifeboat restore into the scratch server`);
    const restore = await lb("restore", `restore bench-db --to ${scratch.url(`restored_${round}`)} --json`);
    if (!restore.ok) throw new Error(`restore failed: ${restore.stderrTail}`);
    restores.push(restore);
    await scratch.psql(`DROP DATABASE restored_${round}`);
    log(`round ${round}: lifeboat drill on the scratch server`);
    onServer.push(drillRun(await lb("drill (scratch server)", "drill bench-db --json")));
    log(`round ${round}: lifeboat drill into a throwaway cluster`);
    throwaway.push(drillRun(await lb("drill (throwaway cluster)", "drill bench-db-throwaway --json")));
  }

  const restoreWall = median(restores.map((run) => run.seconds));
  const drillWall = median(onServer.map((run) => run.measurement.seconds));
  const overhead = (drillWall - restoreWall) / restoreWall;
  const rawWall = median(raw.map((run) => run.seconds));
  const throwawayWall = median(throwaway.map((run) => run.measurement.seconds));
  const throwawayRatio = throwawayWall / rawWall;
  const markdown = [
    `## Drill benchmark (${new Date().toISOString()})`,
    "",
    `Command: \`node bench/drill.ts ${process.argv.slice(2).join(" ")}\`; database ${(facts.databaseBytes / 2 ** 20).toFixed(0)} MiB; ${values.rounds} round(s), medians.`,
    "",
    "| run | wall time (median) | each round |",
    "|---|---|---|",
    `| \`lifeboat restore\` into a new database on the scratch server | ${restoreWall.toFixed(1)} s | ${restores.map((run) => run.seconds.toFixed(1)).join(", ")} |`,
    `| \`lifeboat drill\`, scratch database on the same server | ${drillWall.toFixed(1)} s | ${onServer.map((run) => run.measurement.seconds.toFixed(1)).join(", ")} |`,
    `| \`lifeboat drill\`, throwaway local cluster (loading settings) | ${throwawayWall.toFixed(1)} s | ${throwaway.map((run) => run.measurement.seconds.toFixed(1)).join(", ")} |`,
    `| floor: raw \`pg_restore -j2\` of an uncompressed \`-Fd\` dump into the scratch server | ${rawWall.toFixed(1)} s | ${raw.map((run) => run.seconds.toFixed(1)).join(", ")} |`,
    "",
    `Throwaway drill / raw pg_restore -j2: ${throwawayRatio.toFixed(2)}x (target <= 0.8x: ${throwawayRatio <= 0.8 ? "met" : "MISSED"}).`,
    "",
    `Drill overhead beyond the restore itself (same server): ${(100 * overhead).toFixed(1)}% (target <= 10%: ${overhead <= 0.1 ? "met" : "MISSED"}).`,
    "",
    ...phaseTable("Drill on the scratch server: phases", onServer),
    ...phaseTable("Drill into a throwaway cluster: phases", throwaway),
  ].join("\n");
  await writeFile(join(outDir, "drill-results.md"), markdown + "\n");
  process.stdout.write(markdown + "\n");
}

try {
  await main();
} finally {
  for (const cluster of clusters) await cluster.stop();
  if (workDir && !values.keep) await rm(workDir, { recursive: true, force: true });
}
