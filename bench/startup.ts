// Startup time of the installed `lifeboat` command against the floor, `node -e 0`:
// the WAL archive command will run once per 16 MB segment, so its fixed cost
// matters. Packs and installs the package into a temporary prefix (as
// test/package.test.ts does) and times what users run; the development entry
// (bin/lifeboat.js in this checkout, which runs the TypeScript sources) is
// timed too, and two commands that open a repository (`snapshots`, `status
// --json`) on one with one backup of a small folder. Contenders take turns in
// every round; medians and ratios to the floor are printed and written to
// bench/out/startup.md, with each command's peak RSS (GNU time's %M, median
// of a few separate runs, so the timed runs carry no wrapper).
// Run: node bench/startup.ts [--rounds 30]

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { packageEnv, packAndInstall } from "../test/support/package-install.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "30" } } });
const rounds = Number(values.rounds);
const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const devBin = join(repoRoot, "bin", "lifeboat.js");

interface Contender {
  readonly label: string;
  readonly command: string;
  readonly args: readonly string[];
  /** 0 unless the command reports something on purpose (status: 13, "never drilled"). */
  readonly expectedExit?: number;
  /** Added to the environment of this contender's runs. */
  readonly env?: NodeJS.ProcessEnv;
}

function run(
  label: string,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  expectedExit = 0,
): string {
  const result = spawnSync(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  if (result.status !== expectedExit)
    throw new Error(`${label} exited with ${result.status}: ${result.stderr.toString()}`);
  return result.stdout.toString();
}

function timeOnce(contender: Contender, env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  run(
    contender.label,
    contender.command,
    contender.args,
    { ...env, ...contender.env },
    contender.expectedExit,
  );
  return performance.now() - started;
}

const rssRuns = 5;

/** Median peak RSS in MiB over a few runs under GNU time. */
function peakRssMib(contender: Contender, env: NodeJS.ProcessEnv): number {
  const samples = Array.from({ length: rssRuns }, () => {
    const timeFile = join(workDir, "rss.txt");
    run(
      contender.label,
      "/usr/bin/time",
      ["-f", "%M", "-o", timeFile, contender.command, ...contender.args],
      { ...env, ...contender.env },
      contender.expectedExit,
    );
    return Number(readFileSync(timeFile, "utf8").trim().split("\n").at(-1)) / 1024;
  });
  return median(samples);
}

/** A repository in `dir` holding one backup of a small folder; returns the config file. */
async function repositoryWithOneBackup(dir: string, bin: string, env: NodeJS.ProcessEnv): Promise<string> {
  const data = join(dir, "uploads");
  await mkdir(join(data, "2026"), { recursive: true });
  for (let index = 0; index < 50; index++) {
    await writeFile(join(data, "2026", `file-${index}.txt`), `upload ${index}\n`.repeat(200));
  }
  const config = join(dir, "lifeboat.yaml");
  await writeFile(
    config,
    [
      `repository: { url: "file://${join(dir, "repo")}", password_env: LIFEBOAT_PASSWORD }`,
      "sources:",
      `  uploads: { engine: files, path: "${data}" }`,
      "",
    ].join("\n"),
  );
  run("lifeboat init", bin, ["-c", config, "init"], env);
  run("lifeboat backup", bin, ["-c", config, "backup", "uploads"], env);
  return config;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const workDir = await mkdtemp(join(tmpdir(), "lifeboat-bench-startup-"));
try {
  process.stderr.write("packing and installing the package...\n");
  const installed = await packAndInstall(workDir);
  // The password reaches Lifeboat as the tests pass it: in the environment, never as an argument.
  // The cache directory (Node's compile cache among it) starts empty; the warm-up run fills it.
  const env = {
    ...packageEnv(),
    LIFEBOAT_PASSWORD: "bench-only-password-not-a-secret",
    LIFEBOAT_CACHE_DIR: join(workDir, "cache"),
  };
  const noCompileCache = { NODE_DISABLE_COMPILE_CACHE: "1" };
  const config = await repositoryWithOneBackup(workDir, installed.bin, env);
  const contenders: Contender[] = [
    { label: "floor: `node -e 0`", command: process.execPath, args: ["-e", "0"] },
    { label: "installed `lifeboat --version`", command: installed.bin, args: ["--version"] },
    { label: "installed `lifeboat --help`", command: installed.bin, args: ["--help"] },
    {
      label: "installed `lifeboat --version`, compile cache off",
      command: installed.bin,
      args: ["--version"],
      env: noCompileCache,
    },
    {
      label: "installed `lifeboat snapshots` (opens the repository)",
      command: installed.bin,
      args: ["-c", config, "snapshots"],
    },
    {
      label: "installed `lifeboat status --json` (opens the repository)",
      command: installed.bin,
      args: ["-c", config, "status", "--json"],
      expectedExit: 13, // the source was never drilled: "stale" (docs/errors.md)
    },
    {
      label: "installed `lifeboat snapshots`, compile cache off",
      command: installed.bin,
      args: ["-c", config, "snapshots"],
      env: noCompileCache,
    },
    {
      label: "checkout `node bin/lifeboat.js --version` (sources)",
      command: process.execPath,
      args: [devBin, "--version"],
    },
  ];
  for (const contender of contenders) timeOnce(contender, env); // warm the file cache
  const loadBefore = loadavg()[0] ?? 0;
  const samples = contenders.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    contenders.forEach((contender, index) => samples[index]!.push(timeOnce(contender, env)));
  }
  const floor = median(samples[0]!);
  const rows = contenders.map((contender, index) => {
    const ms = median(samples[index]!);
    const spread = `${Math.min(...samples[index]!).toFixed(0)}–${Math.max(...samples[index]!).toFixed(0)}`;
    const rss = peakRssMib(contender, env);
    return `| ${contender.label} | ${ms.toFixed(0)} ms | ${spread} ms | ${(ms / floor).toFixed(2)}x | ${rss.toFixed(0)} MiB |`;
  });
  const report = [
    `Startup, median of ${rounds} rounds (Node ${process.version}, load average ${loadBefore.toFixed(2)} before):`,
    "",
    `| command | median | min–max | / floor | peak RSS (median of ${rssRuns}) |`,
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
  process.stdout.write(report);
  await mkdir(join(repoRoot, "bench", "out"), { recursive: true });
  await writeFile(join(repoRoot, "bench", "out", "startup.md"), report);
} finally {
  await rm(workDir, { recursive: true, force: true });
}
