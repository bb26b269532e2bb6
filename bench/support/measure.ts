// Measuring one contender's command: wall seconds and peak RSS from GNU time
// around `bash -c <script>`. GNU time's %M is the maximum resident set size of
// the largest single process among the waited-for descendants (getrusage
// RUSAGE_CHILDREN semantics), not the sum over the pipeline; the PostgreSQL
// server backends are not descendants and are not counted.

import { spawn } from "node:child_process";
import { appendFile, readFile, rm } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { runTool } from "./pg-cluster.ts";
import { watchPhases, type PhaseWindow } from "./phase-watch.ts";

export interface Measurement {
  readonly label: string;
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly seconds: number;
  readonly peakRssMb: number;
  /** User + system CPU seconds of the command and every descendant it waited for (server backends excluded). */
  readonly cpuSeconds: number;
  readonly stdout: string;
  readonly stderrTail: string;
  /** The 1-minute load average just before the run: other work on the machine skews timings. */
  readonly loadBefore: number;
  /** When the watched child tools (MeasureOptions.watch) ran, in seconds from the start. */
  readonly phases?: readonly PhaseWindow[];
}

export interface MeasureOptions {
  readonly workDir: string;
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Names of descendant processes whose lifetime to record (see phase-watch.ts). */
  readonly watch?: readonly string[];
}

/** Children currently being measured, so a Ctrl-C handler can end them. */
export const runningChildren = new Set<number>();

export async function measure(label: string, script: string, options: MeasureOptions): Promise<Measurement> {
  const timeFile = join(options.workDir, `time-${process.pid}-${Date.now()}.txt`);
  const loadBefore = loadavg()[0] ?? 0;
  const started = performance.now();
  let stopWatching: (() => Promise<PhaseWindow[]>) | undefined;
  const { exitCode, stdout, stderr } = await new Promise<{
    exitCode: number | null;
    stdout: string;
    stderr: string;
  }>((resolve, reject) => {
    const child = spawn(
      "/usr/bin/time",
      ["-f", "%e %M %U %S", "-o", timeFile, "bash", "-c", `set -euo pipefail\n${script}`],
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true, // its own process group, so Ctrl-C handling can end the whole pipeline
      },
    );
    if (child.pid) runningChildren.add(child.pid);
    if (child.pid && options.watch) stopWatching = watchPhases(child.pid, options.watch);
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (out += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (err = (err + text).slice(-200_000)));
    child.once("error", reject);
    child.once("close", (code) => {
      if (child.pid) runningChildren.delete(child.pid);
      resolve({ exitCode: code, stdout: out, stderr: err });
    });
  });
  const elapsed = (performance.now() - started) / 1000;
  const phases = await stopWatching?.();
  const timeLines = (await readFile(timeFile, "utf8").catch(() => "")).trim().split("\n");
  await rm(timeFile, { force: true });
  const [seconds, maxRssKb, userSeconds, systemSeconds] = (timeLines.at(-1) ?? "").split(" ").map(Number);
  await appendFile(
    options.logFile,
    `\n### ${label} (exit ${exitCode}, ${elapsed.toFixed(1)} s, load before ${loadBefore.toFixed(2)})${phases ? " phases " + JSON.stringify(phases) : ""}\n$ ${script}\n--- stdout (tail)\n${stdout.slice(-4000)}\n--- stderr (tail)\n${stderr.slice(-8000)}\n`,
  );
  return {
    label,
    ok: exitCode === 0,
    exitCode,
    seconds: Number.isFinite(seconds) ? (seconds as number) : elapsed,
    peakRssMb: Number.isFinite(maxRssKb) ? (maxRssKb as number) / 1024 : NaN,
    cpuSeconds: (userSeconds ?? NaN) + (systemSeconds ?? NaN),
    stdout,
    stderrTail: stderr.slice(-2000),
    loadBefore,
    ...(phases ? { phases } : {}),
  };
}

/** Bytes on disk as `du -sb` counts them (apparent size of every file). */
export async function duBytes(path: string): Promise<number> {
  const outcome = await runTool("du", ["-sb", path]);
  if (outcome.code !== 0) throw new Error(`du -sb ${path}: ${outcome.stderr.trim()}`);
  return Number(outcome.stdout.split(/\s+/)[0]);
}
