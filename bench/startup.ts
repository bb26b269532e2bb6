// Startup time of the installed `lifeboat` command against the floor, `node -e 0`:
// the WAL archive command will run once per 16 MB segment, so its fixed cost
// matters. Packs and installs the package into a temporary prefix (as
// test/package.test.ts does) and times what users run; the development entry
// (bin/lifeboat.js in this checkout, which runs the TypeScript sources) is
// timed too. Contenders take turns in every round; medians and ratios to the
// floor are printed and written to bench/out/startup.md.
// Run: node bench/startup.ts [--rounds 30]

import { spawnSync } from "node:child_process";
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
}

function timeOnce(contender: Contender, env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  const result = spawnSync(contender.command, contender.args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const elapsed = performance.now() - started;
  if (result.status !== 0) {
    throw new Error(`${contender.label} exited with ${result.status}: ${result.stderr.toString()}`);
  }
  return elapsed;
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
  const env = packageEnv();
  const contenders: Contender[] = [
    { label: "floor: `node -e 0`", command: process.execPath, args: ["-e", "0"] },
    { label: "installed `lifeboat --version`", command: installed.bin, args: ["--version"] },
    { label: "installed `lifeboat --help`", command: installed.bin, args: ["--help"] },
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
    return `| ${contender.label} | ${ms.toFixed(0)} ms | ${spread} ms | ${(ms / floor).toFixed(2)}x |`;
  });
  const report = [
    `Startup, median of ${rounds} rounds (Node ${process.version}, load average ${loadBefore.toFixed(2)} before):`,
    "",
    "| command | median | min–max | / floor |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
  process.stdout.write(report);
  await mkdir(join(repoRoot, "bench", "out"), { recursive: true });
  await writeFile(join(repoRoot, "bench", "out", "startup.md"), report);
} finally {
  await rm(workDir, { recursive: true, force: true });
}
