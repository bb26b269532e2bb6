// A scheduled job runs as its own `lifeboat` process (the same executable and
// config as the scheduler): it takes its own lock, keeps its own run record,
// beats its heartbeat and exports its metrics exactly as when a person runs
// it, and a crash of one job cannot take the scheduler down. SIGTERM to the
// scheduler is passed on, and the job's own cleanup (at most 20 s) is waited
// for; max_runtime stops a job the same way.

import { spawn } from "node:child_process";
import type { JobOutcome } from "./scheduler.ts";

/** How long a job may take to clean up after SIGTERM before it is killed. */
const STOP_GRACE_MS = 30_000;

export interface JobProcessOptions {
  /** The lifeboat command: executable and leading arguments (e.g. node and the CLI script). */
  readonly command: readonly [string, ...string[]];
  readonly configFile: string;
  readonly args: readonly string[];
  readonly maxRuntimeSeconds: number | null;
  readonly signal: AbortSignal;
  /** Extra global options for the job, e.g. --metrics-textfile. */
  readonly globalArgs?: readonly string[];
}

export function runJobProcess(options: JobProcessOptions): Promise<JobOutcome> {
  const [executable, ...lead] = options.command;
  const child = spawn(
    executable,
    [...lead, "-c", options.configFile, ...(options.globalArgs ?? []), ...options.args],
    {
      // Lifeboat itself: it needs the scheduler's environment (the repository password, S3 credentials).
      env: process.env,
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    killTimer ??= setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  };
  const runtimeTimer =
    options.maxRuntimeSeconds !== null
      ? setTimeout(() => {
          timedOut = true;
          stop();
        }, options.maxRuntimeSeconds * 1000)
      : undefined;
  options.signal.addEventListener("abort", stop, { once: true });
  return new Promise((resolve) => {
    const finish = (code: number | null) => {
      clearTimeout(runtimeTimer);
      clearTimeout(killTimer);
      options.signal.removeEventListener("abort", stop);
      resolve({ code, timedOut });
    };
    child.on("error", () => finish(null));
    child.on("close", (code) => finish(code));
  });
}
