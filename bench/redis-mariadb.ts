// Redis and MariaDB backup/restore: Lifeboat side by side with the pipelines
// the issue names, in one run on ~1 GB of generated data each, in throwaway
// servers on free loopback ports. Contenders take turns in every round (the
// order alternates), each Lifeboat run gets a fresh repository, and every
// restore is checked (Redis: keys per db + DEBUG DIGEST; MariaDB: rows +
// CHECKSUM TABLE per table) before its time counts. Medians, ratios
// Lifeboat/peer against the goals (backup <= 0.5x, restore <= 0.8x).
//
//   Redis peer:   redis-cli --rdb - | gzip > file (the source's
//                 repl-diskless-sync-delay set to 0 for it, untimed);
//                 restore = gunzip the file to a new server's dir as dump.rdb,
//                 start redis-server (appendonly no), until PING answers PONG
//                 (the seeds' runbook: replace dump.rdb, restart the server).
//   MariaDB peer: mariadb-dump --single-transaction ... | gzip, restore
//                 gunzip -c | mariadb shop_restored (database created untimed).
//
//   node bench/redis-mariadb.ts [--rounds 2] [--redis-mb 1024] [--mariadb-mb 1024]
//        [--quick] [--parts redis,mariadb] [--keep] [--floors] [--out-name NAME]
// --floors also times each peer's raw tool with its output discarded
// (redis-cli --rdb - > /dev/null, mariadb-dump > /dev/null): what any backup
// of that source costs before compression and storage.
// Writes bench/out/redis-mariadb-results.md (+ .json, and -run.log with every command;
// redis-mariadb-quick-* with --quick, NAME-* with --out-name).

import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { duBytes, measure, runningChildren, type MeasureOptions } from "./support/measure.ts";
import { freePort, runTool } from "./support/pg-cluster.ts";
import {
  populateRedis,
  redisContent,
  redisServerFlags,
  startBenchRedis,
  type BenchRedis,
} from "./support/redis-bench.ts";
import {
  clientArgs,
  populateShop,
  settle,
  shopContent,
  startBenchMariadb,
  type BenchMariadb,
} from "./support/mariadb-bench.ts";
import {
  renderResults,
  type ContenderRun,
  type Results,
  type ServiceResults,
} from "./support/redis-mariadb-report.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "2" },
    "redis-mb": { type: "string" },
    "mariadb-mb": { type: "string" },
    quick: { type: "boolean", default: false },
    parts: { type: "string", default: "redis,mariadb" },
    keep: { type: "boolean", default: false },
    floors: { type: "boolean", default: false },
    "out-name": { type: "string" },
  },
});
const rounds = Math.max(1, Number(values.rounds));
const redisMb = Number(values["redis-mb"] ?? (values.quick ? 100 : 1024));
const mariadbMb = Number(values["mariadb-mb"] ?? (values.quick ? 100 : 1024));
const parts = new Set(values.parts.split(","));
const outDir = join(repoRoot, "bench", "out");
const outName = values["out-name"] ?? (values.quick ? "redis-mariadb-quick" : "redis-mariadb");
const cli = join(repoRoot, "src", "cli", "main.ts");
const password = { LIFEBOAT_PASSWORD: "bench-only-password-not-a-secret" };

const stoppers: (() => Promise<void>)[] = [];
let workDir = "";

function log(message: string) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    for (const pid of runningChildren) {
      try {
        process.kill(-pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    void Promise.allSettled(stoppers.map((stop) => stop()))
      .then(() => (workDir && !values.keep ? rm(workDir, { recursive: true, force: true }) : undefined))
      .finally(() => process.exit(130));
  });
}

/** One Lifeboat setup: a lifeboat.yaml naming one source, a repository made fresh per run. */
function lifeboat(name: string, sourceLine: string, options: MeasureOptions) {
  const repoDir = join(workDir, `${name}-repo`);
  const configPath = join(workDir, `${name}-lifeboat.yaml`);
  const command = (args: string) => `${process.execPath} ${cli} -c ${configPath} --no-progress ${args}`;
  const env = { ...password, LIFEBOAT_TMPDIR: workDir };
  return {
    repoDir,
    async writeConfig() {
      await writeFile(
        configPath,
        `repository: { url: "file://${repoDir}", password_env: LIFEBOAT_PASSWORD }\nsources:\n  ${sourceLine}\n`,
      );
    },
    async init() {
      await rm(repoDir, { recursive: true, force: true });
      const init = await measure(`lifeboat init (${name})`, command("init --json"), { ...options, env });
      if (!init.ok) throw new Error(`lifeboat init failed: ${init.stderrTail}`);
    },
    backup: () => measure(`lifeboat backup ${name}`, command(`backup ${name} --json`), { ...options, env }),
    restore: (to: string) =>
      measure(`lifeboat restore ${name}`, command(`restore ${name} --to ${to} --json`), { ...options, env }),
  };
}

function bytesRead(stdout: string): number | undefined {
  try {
    const parsed = JSON.parse(stdout) as { snapshots?: { bytesRead?: number }[] };
    return parsed.snapshots?.[0]?.bytesRead;
  } catch {
    return undefined;
  }
}

function restorePhases(stdout: string): Record<string, number> | undefined {
  try {
    return (JSON.parse(stdout) as { phases?: Record<string, number> }).phases;
  } catch {
    return undefined;
  }
}

/** A Lifeboat failure is a finding, not noise: stop the bench and report it as it happened. */
function lifeboatFailed(what: string, stderr: string): never {
  throw new Error(`Lifeboat ${what} failed; exact command and output in the run log:\n${stderr}`);
}

async function redisPart(options: MeasureOptions): Promise<void> {
  log("redis: starting the source server");
  const source = await startBenchRedis(workDir, "redis-source");
  stoppers.push(() => source.stop());
  log(`redis: generating ~${redisMb} MB of values (redis-cli --pipe)`);
  const started = performance.now();
  await populateRedis(source.port, redisMb);
  const used = (await source.cli("info", "memory")).match(/used_memory:(\d+)/)?.[1];
  const sourceContent = await redisContent(source.port);
  log(`redis: dataset ready in ${((performance.now() - started) / 1000).toFixed(0)} s: ${sourceContent}`);
  const defaultDelay = (await source.cli("config", "get", "repl-diskless-sync-delay")).trim().split("\n")[1];
  const setup = lifeboat("cache", `cache: { engine: redis, url: "${source.url}" }`, options);
  await setup.writeConfig();
  const service: ServiceResults = {
    title: "Redis 7.0",
    peerName: "redis-cli --rdb - | gzip",
    dataset: {
      values: `~${redisMb} MB: JSON sessions with a random token (db0, a third with a 7-day TTL), user hashes (db0), event lists, tag sets and leaderboard zsets (db1), 8 KiB random blobs (db2)`,
      used_memory: `${(Number(used) / 2 ** 20).toFixed(0)} MiB`,
    },
    sourceContent,
    notes: [
      `source repl-diskless-sync-delay is ${defaultDelay} s (the default); for the peer's backup it is set to 0 beforehand (untimed) and back afterwards, so redis-cli does not wait; Lifeboat runs with sync_delay: lower (its default), which sets it to 0 for its transfer itself, inside its timed run`,
      `peer restore = gunzip to dump.rdb + redis-server start until PING answers PONG with the data loaded; Lifeboat restore = \`lifeboat restore cache --to redis://127.0.0.1:<port>\` into an empty server started beforehand (untimed); both servers run with ${redisServerFlags.join(" ")}`,
      "peak RSS is the largest process GNU time waited for (the pipeline's or Lifeboat's), never the Redis servers",
    ],
    runs: { peer: [], lifeboat: [] },
  };
  results.services.push(service);
  const peer = async (round: number): Promise<ContenderRun> => {
    const file = join(workDir, "redis-dump.rdb.gz");
    await source.cli("config", "set", "repl-diskless-sync-delay", "0");
    const backup = await measure(
      "peer backup redis",
      `redis-cli -h 127.0.0.1 -p ${source.port} --rdb - | gzip > ${file}`,
      options,
    );
    const floorBackup = values.floors
      ? await measure(
          "floor backup redis",
          `redis-cli -h 127.0.0.1 -p ${source.port} --rdb - > /dev/null`,
          options,
        )
      : undefined;
    await source.cli("config", "set", "repl-diskless-sync-delay", defaultDelay ?? "5");
    if (!backup.ok) return { round, backup, problem: backup.stderrTail };
    const storedBytes = (await stat(file)).size;
    const dir = join(workDir, "redis-peer-restore");
    const port = await freePort();
    const restore = await measure(
      "peer restore redis",
      [
        `mkdir -p ${dir}`,
        `gunzip -c ${file} > ${dir}/dump.rdb`,
        `redis-server --port ${port} --dir ${dir} --daemonize yes --pidfile ${dir}/redis.pid --logfile ${dir}/redis.log ${redisServerFlags.join(" ")}`,
        `for i in $(seq 1 12000); do [ "$(redis-cli -h 127.0.0.1 -p ${port} ping 2>/dev/null)" = PONG ] && exit 0; sleep 0.05; done`,
        "exit 1",
      ].join("\n"),
      options,
    );
    const restoredContent = restore.ok ? await redisContent(port) : undefined;
    const pid = await runTool("cat", [`${dir}/redis.pid`]);
    if (pid.code === 0) await stopDaemon(Number(pid.stdout.trim()));
    await rm(dir, { recursive: true, force: true });
    await rm(file, { force: true });
    return {
      round,
      backup,
      restore,
      storedBytes,
      restoredContent,
      correct: restoredContent === sourceContent,
      floorBackup,
    };
  };
  const ours = async (round: number): Promise<ContenderRun> => {
    await setup.init();
    const backup = await setup.backup();
    if (!backup.ok) lifeboatFailed("redis backup", backup.stderrTail);
    const storedBytes = await duBytes(setup.repoDir);
    const target: BenchRedis = await startBenchRedis(workDir, `redis-lifeboat-target-${round}`);
    const restore = await setup.restore(target.url);
    if (!restore.ok) lifeboatFailed("redis restore", restore.stderrTail);
    const restoredContent = await redisContent(target.port);
    await target.stop();
    await rm(target.dir, { recursive: true, force: true });
    await rm(setup.repoDir, { recursive: true, force: true });
    const phases = restorePhases(restore.stdout);
    return {
      round,
      backup,
      restore,
      storedBytes,
      restoredContent,
      correct: restoredContent === sourceContent,
      phases,
      sourceBytes: bytesRead(backup.stdout),
    };
  };
  await alternate(service, peer, ours);
  await source.stop();
}

async function mariadbPart(options: MeasureOptions): Promise<void> {
  log("mariadb: starting the server");
  const server: BenchMariadb = await startBenchMariadb(workDir);
  stoppers.push(() => server.stop());
  log(`mariadb: generating ~${mariadbMb} MB of rows (LOAD DATA INFILE)`);
  const started = performance.now();
  await populateShop(server, workDir, mariadbMb);
  await settle(server);
  const sourceContent = await shopContent(server, "shop");
  const size = (
    await server.sql(
      "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = 'shop'",
    )
  ).trim();
  log(`mariadb: dataset ready in ${((performance.now() - started) / 1000).toFixed(0)} s: ${sourceContent}`);
  const version = (await server.sql("SELECT VERSION()")).trim();
  const setup = lifeboat(
    "shop",
    `shop: { engine: mariadb, url: "mariadb://root@127.0.0.1:${server.port}/shop" }`,
    options,
  );
  await setup.writeConfig();
  const client = clientArgs(server.port).join(" ");
  const dumpOptions = "--single-transaction --routines --events --triggers --hex-blob";
  const service: ServiceResults = {
    title: `MariaDB ${version}`,
    peerName: "mariadb-dump | gzip",
    dataset: {
      rows: `~${mariadbMb} MB as TSV text: customers, orders (numbers, dates, short text), events (log lines), attachments (base64 of random bytes, ~3 KB a row, 30% of the bytes)`,
      "data + index": `${(Number(size) / 2 ** 20).toFixed(0)} MiB (information_schema)`,
      server:
        "mariadbd --no-defaults, innodb_buffer_pool_size=512M, otherwise defaults (innodb_flush_log_at_trx_commit=1, no binlog)",
    },
    sourceContent,
    notes: [
      `peer: \`mariadb-dump ${dumpOptions} shop | gzip\`, restore \`gunzip -c | mariadb shop_restored\` (CREATE DATABASE untimed); Lifeboat: \`restore shop --to mariadb://root@127.0.0.1:<port>/shop_restored\` (loads into a partial database, verifies, renames into place); both into the source's own server, dirty pages flushed before every run`,
      "peak RSS is the largest process GNU time waited for (mariadb-dump, gzip, the client, Lifeboat), never mariadbd",
    ],
    runs: { peer: [], lifeboat: [] },
  };
  results.services.push(service);
  const afterRestore = async () => {
    const content = await shopContent(server, "shop_restored").catch(
      (error: Error) => `error: ${error.message}`,
    );
    await server.sql("DROP DATABASE IF EXISTS shop_restored");
    await settle(server);
    return content;
  };
  const peer = async (round: number): Promise<ContenderRun> => {
    const file = join(workDir, "shop.sql.gz");
    const backup = await measure(
      "peer backup mariadb",
      `mariadb-dump ${client} ${dumpOptions} shop | gzip > ${file}`,
      options,
    );
    if (!backup.ok) return { round, backup, problem: backup.stderrTail };
    const floorBackup = values.floors
      ? await measure(
          "floor backup mariadb",
          `mariadb-dump ${client} ${dumpOptions} shop > /dev/null`,
          options,
        )
      : undefined;
    const storedBytes = (await stat(file)).size;
    await server.sql("CREATE DATABASE shop_restored CHARACTER SET utf8mb4");
    const restore = await measure(
      "peer restore mariadb",
      `gunzip -c ${file} | mariadb ${client} shop_restored`,
      options,
    );
    const restoredContent = await afterRestore();
    await rm(file, { force: true });
    return {
      round,
      backup,
      restore,
      storedBytes,
      restoredContent,
      correct: restore.ok && restoredContent === sourceContent,
      floorBackup,
    };
  };
  const ours = async (round: number): Promise<ContenderRun> => {
    await setup.init();
    const backup = await setup.backup();
    if (!backup.ok) lifeboatFailed("mariadb backup", backup.stderrTail);
    const storedBytes = await duBytes(setup.repoDir);
    await settle(server);
    const restore = await setup.restore(`mariadb://root@127.0.0.1:${server.port}/shop_restored`);
    if (!restore.ok) lifeboatFailed("mariadb restore", restore.stderrTail);
    const restoredContent = await afterRestore();
    await rm(setup.repoDir, { recursive: true, force: true });
    const phases = restorePhases(restore.stdout);
    return {
      round,
      backup,
      restore,
      storedBytes,
      restoredContent,
      correct: restoredContent === sourceContent,
      phases,
      sourceBytes: bytesRead(backup.stdout),
    };
  };
  await alternate(service, peer, ours);
  await server.stop();
}

/** Rounds with the two contenders taking turns; odd rounds start with the peer, even ones with Lifeboat. */
async function alternate(
  service: ServiceResults,
  peer: (round: number) => Promise<ContenderRun>,
  ours: (round: number) => Promise<ContenderRun>,
) {
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 ? (["peer", "lifeboat"] as const) : (["lifeboat", "peer"] as const);
    for (const who of order) {
      log(`${service.title}: round ${round}: ${who}`);
      const run = who === "peer" ? await peer(round) : await ours(round);
      service.runs[who].push(run);
      log(
        `${service.title}: round ${round}: ${who}: backup ${run.backup?.seconds.toFixed(1)} s, restore ${run.restore?.seconds.toFixed(1)} s, ${run.correct ? "restore correct" : `RESTORE NOT CORRECT: ${run.restoredContent}`}`,
      );
      await save();
    }
  }
}

async function stopDaemon(pid: number) {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const results: Results = {
  command: `node bench/redis-mariadb.ts ${process.argv.slice(2).join(" ")}`.trim(),
  startedAt: new Date().toISOString(),
  machine: {},
  services: [],
};
async function save() {
  await writeFile(join(outDir, `${outName}-results.json`), JSON.stringify(results, null, 2));
  await writeFile(join(outDir, `${outName}-results.md`), renderResults(results));
}

async function main() {
  await mkdir(outDir, { recursive: true });
  workDir = await mkdtemp(join(tmpdir(), "lifeboat-bench-rm-"));
  const logFile = join(outDir, `${outName}-run.log`);
  await writeFile(logFile, `bench run ${new Date().toISOString()} in ${workDir}\n`);
  const options: MeasureOptions = { workDir, logFile, cwd: repoRoot };
  Object.assign(results.machine, {
    CPUs: `${cpus().length} (${cpus()[0]?.model ?? "?"})`,
    RAM: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    Node: process.version,
    "load average at start (1/5/15 min)": loadavg()
      .map((n) => n.toFixed(2))
      .join(" / "),
    gzip: "default level 6, one thread",
  });
  if (parts.has("redis")) await redisPart(options);
  if (parts.has("mariadb")) await mariadbPart(options);
  results.machine["load average at end (1/5/15 min)"] = loadavg()
    .map((n) => n.toFixed(2))
    .join(" / ");
  await save();
  process.stdout.write(renderResults(results));
  log(`results in ${join(outDir, `${outName}-results.md`)}; every command in ${logFile}`);
}

try {
  await main();
} finally {
  for (const stop of stoppers) await stop().catch(() => undefined);
  if (workDir && !values.keep) await rm(workDir, { recursive: true, force: true });
  else if (workDir) log(`kept ${workDir}`);
}
