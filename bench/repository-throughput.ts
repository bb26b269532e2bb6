// Micro-benchmark of the repository's own write and read paths (no database):
// ~500 MB of dump-like data (half pgbench-like text rows, half base64 of
// random bytes, like `pg_dump` of the PostgreSQL benchmark's tables) is
// written as one artifact into a fresh encrypted filesystem repository, then
// read back with openArtifacts().saveTo, as `lifeboat restore` stages dumps.
// Every phase runs in its own child process, so peak RSS
// (process.resourceUsage().maxRSS, worker threads included) is per phase.
//
// The machine is shared and noisy: compare implementations in the same
// session, alternating (A B A B …). `--src` names a copy of `src/` to time
// instead of this checkout's (repeat it to alternate several):
//
//   # before a change: a copy of src/ that resolves packages and loads as ESM
//   mkdir /tmp/lb-before && cp -r src /tmp/lb-before/ && ln -s "$PWD/node_modules" /tmp/lb-before/
//   echo '{"type":"module"}' > /tmp/lb-before/package.json
//   node bench/repository-throughput.ts --src /tmp/lb-before/src --src src --rounds 3 [--mb 500]
//
// It prints a Markdown table: wall time, MB/s, CPU seconds (all threads) and
// peak RSS per phase, and the 1-minute load average when the round started.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "500" },
    src: { type: "string", multiple: true },
    rounds: { type: "string", default: "2" },
    child: { type: "string" },
    repo: { type: "string" },
    data: { type: "string" },
  },
});

const PASSWORD = "bench-password";
const CHEAP_KDF = { N: 1024, r: 8, p: 1 };

interface PhaseResult {
  phase: string;
  seconds: number;
  mbPerSecond: number;
  peakRssMb: number;
  cpuSeconds: number;
  stored?: number;
}

/** The dataset, made once and reused: text rows first, then base64 rows, `mb` MB in all. */
async function ensureData(megabytes: number): Promise<string> {
  const path = join(tmpdir(), `lifeboat-bench-repository-${megabytes}mb.dat`);
  const size = megabytes * 1_000_000;
  if ((await stat(path).catch(() => undefined))?.size === size) return path;
  const out = createWriteStream(path);
  let written = 0;
  const put = async (text: string) => {
    const bytes = Buffer.from(text).subarray(0, size - written);
    written += bytes.length;
    if (!out.write(bytes)) await new Promise<void>((done) => out.once("drain", () => done()));
  };
  // pgbench_accounts as COPY text: aid, bid, abalance, 84 blank filler chars.
  const filler = " ".repeat(84);
  for (let aid = 1; written < size / 2;) {
    const rows: string[] = [];
    for (let i = 0; i < 10_000; i++, aid++)
      rows.push(`${aid}\t${Math.ceil(aid / 100_000)}\t${(aid * 7919) % 10_007}\t${filler}\n`);
    await put(rows.join(""));
  }
  // random_blobs: an id and 1 KiB of random bytes as base64 per row.
  for (let id = 1; written < size;) {
    const rows: string[] = [];
    for (let i = 0; i < 1_000; i++, id++) rows.push(`${id}\t${randomBytes(1024).toString("base64")}\n`);
    await put(rows.join(""));
  }
  await new Promise<void>((done, fail) => out.end((error?: Error | null) => (error ? fail(error) : done())));
  return path;
}

async function child(phase: string, src: string, repoDir: string, dataPath: string): Promise<PhaseResult> {
  const load = async (module: string) => import(pathToFileURL(join(resolve(src), module)).href);
  const { FsBackend } = await load("storage/fs.ts");
  const { initRepository, openRepository } = await load("repository/repository.ts");
  const size = (await stat(dataPath)).size;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let stored: number | undefined;
  if (phase === "write") {
    const repository = await initRepository(new FsBackend(repoDir), { password: PASSWORD, kdf: CHEAP_KDF });
    const writer = await repository.newSnapshotWriter();
    await writer.write("dump", createReadStream(dataPath, { highWaterMark: 1024 * 1024 }));
    await writer.commit({
      source: "bench",
      engine: "files",
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      consistentAt: new Date().toISOString(),
      hostname: "bench",
      lifeboatVersion: "0.0.0-bench",
      engineMeta: {},
      fingerprint: { counts: {}, hashes: {} },
      tags: [],
    });
    stored = writer.stats.bytesStored;
    await repository.close();
  } else {
    const repository = await openRepository(new FsBackend(repoDir), PASSWORD);
    const snapshot = await repository.findSnapshot("latest");
    const out = join(repoDir, "..", "restored.dat");
    await repository.openArtifacts(snapshot).saveTo("dump", out);
    await repository.close();
    if ((await stat(out)).size !== size) throw new Error("restored file has the wrong size");
    await rm(out);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    phase,
    seconds,
    mbPerSecond: size / 1e6 / seconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    ...(stored === undefined ? {} : { stored }),
  };
}

function runChild(args: string[]): Promise<PhaseResult> {
  return new Promise((done, fail) => {
    const proc = spawn(process.execPath, [import.meta.filename, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    proc.stdout.on("data", (data: Buffer) => (output += data.toString()));
    proc.on("error", fail);
    proc.on("close", (code) => {
      if (code !== 0) return fail(new Error(`child ${args.join(" ")} exited with ${code}`));
      done(JSON.parse(output.trim().split("\n").at(-1)!) as PhaseResult);
    });
  });
}

async function main(): Promise<void> {
  const sources = values.src ?? ["src"];
  const dataPath = await ensureData(Number(values.mb));
  const size = (await stat(dataPath)).size;
  console.log(`data: ${dataPath} (${(size / 1e6).toFixed(0)} MB); load average ${loadavg()[0]!.toFixed(1)}`);
  console.log(
    "| round | src | write s | write MB/s | write CPU s | write peak RSS | stored MB | read s | read MB/s | read CPU s | read peak RSS | load |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const src of sources) {
      const base = await mkdtemp(join(tmpdir(), "lifeboat-bench-repo-"));
      const repoDir = join(base, "repo");
      try {
        const load = loadavg()[0]!.toFixed(1);
        const common = ["--src", src, "--repo", repoDir, "--data", dataPath];
        const w = await runChild(["--child", "write", ...common]);
        const r = await runChild(["--child", "read", ...common]);
        console.log(
          `| ${round} | ${src} | ${w.seconds.toFixed(2)} | ${w.mbPerSecond.toFixed(0)} | ${w.cpuSeconds.toFixed(1)} | ${w.peakRssMb.toFixed(0)} MB | ${((w.stored ?? 0) / 1e6).toFixed(0)} | ${r.seconds.toFixed(2)} | ${r.mbPerSecond.toFixed(0)} | ${r.cpuSeconds.toFixed(1)} | ${r.peakRssMb.toFixed(0)} MB | ${load} |`,
        );
      } finally {
        await rm(base, { recursive: true, force: true });
      }
    }
  }
}

if (values.child) {
  const result = await child(values.child, values.src![0]!, values.repo!, values.data!);
  process.stdout.write(JSON.stringify(result) + "\n");
} else {
  await main();
}
