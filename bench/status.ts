// How fast `lifeboat status` and `/metrics` answer on large repositories,
// and whether a long-running `lifeboat serve` grows. Repositories of 1,000
// and 10,000 snapshots of one source are made through the repository API
// (bench/support/snapshot-factory.ts), each snapshot with the run record a
// real backup leaves, plus a failed run every 100 and a drill report every
// 1,000; then:
//   - `lifeboat status --json` (the CLI, warm local cache), median of --rounds;
//   - GET /metrics of `lifeboat serve --cache 0s` (a fresh reading per request), median;
//   - serve's RSS over --scrapes requests (default 5,760: a day of 15 s scrapes, back to back).
// Writes bench/out/status-results.md and status-results.json.
//
//   node bench/status.ts [--counts 1000,10000] [--rounds 5] [--scrapes 5760]

import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { RUN_RECORD_SCHEMA, type RunRecord } from "../src/domain/run-record.ts";
import { initRepository, openRepository } from "../src/repository/repository.ts";
import { openBackend } from "../src/storage/registry.ts";
import { addSnapshots } from "./support/snapshot-factory.ts";
import { freePort } from "./support/pg-cluster.ts";

const { values } = parseArgs({
  options: {
    counts: { type: "string", default: "1000,10000" },
    rounds: { type: "string", default: "5" },
    scrapes: { type: "string", default: "5760" },
  },
});
const counts = values.counts.split(",").map(Number);
const rounds = Number(values.rounds);
const scrapes = Number(values.scrapes);
const cli = fileURLToPath(new URL("../bin/lifeboat.js", import.meta.url));
const out = fileURLToPath(new URL("./out/", import.meta.url));
const password = "bench-only-password-not-a-secret";
const log = (line: string) =>
  process.stderr.write(`[status ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function record(id: string, at: Date, snapshot: string | null, failed: boolean): RunRecord {
  return {
    schema: RUN_RECORD_SCHEMA,
    id,
    operation: "backup",
    source: "app",
    outcome: failed ? "failed" : "succeeded",
    startedAt: at.toISOString(),
    finishedAt: at.toISOString(),
    seconds: 1,
    hostname: "bench",
    lifeboatVersion: "bench",
    bytesRead: 1000,
    bytesStored: 10,
    snapshot,
    drill: null,
    error: failed ? { code: "SOURCE_UNREACHABLE", message: "bench failure" } : null,
  };
}

async function makeRepository(dir: string, count: number): Promise<void> {
  const backend = openBackend(`file://${dir}`);
  await (await initRepository(backend, { password })).close();
  const repository = await openRepository(openBackend(`file://${dir}`), password);
  const firstAt = new Date(Date.now() - count * 1000);
  await addSnapshots(repository, { source: "app", count, distinct: false, concurrency: 8, firstAt });
  const snapshots = await repository.listSnapshots();
  let serial = 0;
  const pending: Promise<void>[] = [];
  for (const snapshot of snapshots) {
    const at = new Date(snapshot.finishedAt);
    const stamp = at
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d+Z$/, "Z");
    pending.push(
      repository.saveRunRecord(
        record(`${stamp}-${(serial++).toString(16).padStart(8, "0")}`, at, snapshot.id, false),
      ),
    );
    if (serial % 100 === 0)
      pending.push(
        repository.saveRunRecord(record(`${stamp}-f${serial.toString(16).padStart(7, "0")}`, at, null, true)),
      );
    if (pending.length >= 64) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  await repository.close();
}

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; seconds: number; stdout: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, seconds: (performance.now() - started) / 1000, stdout }));
  });
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
}

interface Row {
  count: number;
  runRecords: number;
  statusSeconds: number;
  statusFirstSeconds: number;
  metricsSeconds: number;
  rss: { start: number; middle: number; end: number; scrapes: number } | null;
}

const work = await mkdtemp(join(tmpdir(), "lifeboat-status-bench-"));
const rows: Row[] = [];
try {
  for (const count of counts) {
    const dir = join(work, `repo-${count}`);
    log(`making a repository of ${count} snapshots with their run records`);
    await makeRepository(dir, count);
    const config = join(work, `lifeboat-${count}.yaml`);
    await writeFile(
      config,
      `repository: { url: "file://${dir}", password_env: LIFEBOAT_PASSWORD }\nsources:\n  app: { engine: files, path: /nonexistent, objectives: { rpo: 1h } }\n`,
    );
    const env = { LIFEBOAT_PASSWORD: password, LIFEBOAT_CACHE_DIR: join(work, `cache-${count}`) };
    const first = await runCli(["-c", config, "status", "--json"], env);
    const times: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const result = await runCli(["-c", config, "status", "--json"], env);
      if (![0, 13, 14].includes(result.code ?? -1)) throw new Error(`status exited ${result.code}`);
      times.push(result.seconds);
    }
    const runRecords = JSON.parse(first.stdout).sources[0].runs.backup;

    const port = await freePort();
    const serve = spawn(
      process.execPath,
      [cli, "-c", config, "serve", "--listen", `127.0.0.1:${port}`, "--cache", "0s"],
      {
        env: { ...process.env, ...env },
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    const url = `http://127.0.0.1:${port}/metrics`;
    for (let tries = 0; ; tries++) {
      try {
        await fetch(url);
        break;
      } catch {
        if (tries > 200) throw new Error("serve did not start");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const metricTimes: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const started = performance.now();
      await (await fetch(url)).text();
      metricTimes.push((performance.now() - started) / 1000);
    }
    let rss: Row["rss"] = null;
    if (count === counts[0] && scrapes > 0) {
      log(`serve: ${scrapes} scrapes back to back, RSS sampled`);
      const start = await rssOf(serve.pid!);
      let middle = start;
      for (let n = 1; n <= scrapes; n++) {
        await (await fetch(url)).text();
        if (n === Math.floor(scrapes / 2)) middle = await rssOf(serve.pid!);
      }
      rss = { start, middle, end: await rssOf(serve.pid!), scrapes };
    }
    serve.kill("SIGTERM");
    rows.push({
      count,
      runRecords: runRecords.succeeded + runRecords.failed,
      statusFirstSeconds: first.seconds,
      statusSeconds: median(times),
      metricsSeconds: median(metricTimes),
      rss,
    });
    await rm(dir, { recursive: true, force: true });
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
const lines = [
  `# lifeboat status and /metrics on large repositories (${new Date().toISOString()})`,
  "",
  `Command: \`node bench/status.ts --counts ${values.counts} --rounds ${rounds} --scrapes ${scrapes}\`; ${cpus().length} CPUs; Node ${process.version}`,
  "",
  "| snapshots | run records read | `status --json`, first (cold cache) | `status --json`, median warm | GET /metrics, median (fresh reading) |",
  "|---|---|---|---|---|",
  ...rows.map(
    (row) =>
      `| ${row.count} | ${row.runRecords} | ${row.statusFirstSeconds.toFixed(2)} s | ${row.statusSeconds.toFixed(2)} s | ${row.metricsSeconds.toFixed(3)} s |`,
  ),
  "",
  ...rows
    .filter((row) => row.rss)
    .map(
      (row) =>
        `serve RSS over ${row.rss!.scrapes} scrapes (${row.count} snapshots): start ${mb(row.rss!.start)}, halfway ${mb(row.rss!.middle)}, end ${mb(row.rss!.end)}`,
    ),
];
await mkdir(out, { recursive: true });
await writeFile(join(out, "status-results.md"), `${lines.join("\n")}\n`);
await writeFile(join(out, "status-results.json"), `${JSON.stringify(rows, null, 2)}\n`);
process.stdout.write(`${lines.join("\n")}\n`);
