// lifeboat schedule list | run: the schedules of lifeboat.yaml, and the
// built-in scheduler that runs them (schedule/scheduler.ts) until SIGTERM.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { LifeboatError } from "../../errors.ts";
import { jobsOf, upcoming, type Job } from "../../plan/schedule.ts";
import { runJobProcess } from "../../schedule/job-process.ts";
import { runScheduler, type SchedulerClock, type SchedulerState } from "../../schedule/scheduler.ts";
import { writeFileWhole } from "../../runtime/write-whole.ts";
import { table } from "../output.ts";
import { serveCommand } from "./serve.ts";
import { defaultCacheDir } from "../../runtime/spool-memo.ts";
import { loadSessionConfig, type CommandEnv } from "../session.ts";

async function loadJobs(env: CommandEnv): Promise<{ jobs: Job[]; path: string }> {
  const { config, path } = await loadSessionConfig(env);
  return { jobs: jobsOf(config.schedules), path };
}

export async function scheduleListCommand(env: CommandEnv, flags: { count?: string }): Promise<void> {
  const count = Number(flags.count ?? 3);
  if (!Number.isInteger(count) || count < 1 || count > 100) {
    throw new LifeboatError("BAD_ARGUMENT", `--count ${flags.count}: a whole number from 1 to 100`);
  }
  const { jobs } = await loadJobs(env);
  const now = new Date();
  const rows = jobs.map((job) => ({
    name: job.name,
    command: ["lifeboat", ...job.args].join(" "),
    when: job.when,
    jitterSeconds: job.jitterSeconds,
    maxRuntimeSeconds: job.maxRuntimeSeconds,
    catchUp: job.catchUp,
    next: upcoming(job, now, count).map((date) => date.toISOString()),
  }));
  env.output.result({ schedules: rows }, () =>
    rows.length === 0
      ? "lifeboat.yaml declares no schedules"
      : table(
          ["SCHEDULE", "RUNS", "WHEN", "NEXT"],
          rows.map((row) => [row.name, row.command, row.when, row.next.join(", ")]),
        ),
  );
}

/** Where the scheduler remembers when each job last ran: per config file, in the local cache folder. */
function statePath(configPath: string, flag: string | undefined): string {
  if (flag) return resolve(flag);
  const tag = createHash("sha256").update(resolve(configPath)).digest("hex").slice(0, 12);
  return join(defaultCacheDir(), `schedule-${tag}.json`);
}

function fileState(path: string): SchedulerState {
  return {
    load: async () => {
      const text = await readFile(path, "utf8").catch(() => undefined);
      if (text === undefined) return {};
      try {
        const parsed = JSON.parse(text) as unknown;
        return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, string>) : {};
      } catch {
        return {}; // a damaged state file only costs one catch-up decision
      }
    },
    save: (state) => writeFileWhole(path, JSON.stringify(state, null, 2), { makeParents: true }),
  };
}

const realClock: SchedulerClock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      // Long sleeps in slices: a laptop's suspend or a changed clock is noticed within a minute.
      const timer = setTimeout(done, Math.min(ms, 60_000));
      function done() {
        signal.removeEventListener("abort", done);
        clearTimeout(timer);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    }),
};

export async function scheduleRunCommand(
  env: CommandEnv,
  flags: { state?: string; listen?: string; tokenEnv?: string },
): Promise<void> {
  const { jobs, path } = await loadJobs(env);
  if (jobs.length === 0) {
    throw new LifeboatError("BAD_ARGUMENT", "lifeboat.yaml declares no schedules", {
      hint: 'Add a schedules: block, e.g. nightly: { cron: "0 2 * * *", run: backup } (docs/schedules.md).',
    });
  }
  const state = statePath(path, flags.state);
  const script = process.argv[1]!;
  const command: [string, ...string[]] = [process.execPath, ...process.execArgv, script];
  const globalArgs = env.options.metricsTextfile ? ["--metrics-textfile", env.options.metricsTextfile] : [];
  for (const job of jobs) env.log.info(`${job.name}: lifeboat ${job.args.join(" ")}, ${job.when}`);
  let runs = 0;
  let failures = 0;
  // --listen: the endpoints of `lifeboat serve` from this process too, until the same SIGTERM.
  const serving = flags.listen
    ? serveCommand(
        { ...env, output: { json: env.output.json, result: () => {} } },
        { listen: flags.listen, ...(flags.tokenEnv ? { tokenEnv: flags.tokenEnv } : {}) },
      )
    : Promise.resolve();
  const scheduling = runScheduler({
    jobs,
    clock: realClock,
    state: fileState(state),
    signal: env.signal,
    log: (line) => env.log.info(line),
    run: async (run, signal) => {
      runs++;
      const outcome = await runJobProcess({
        command,
        configFile: path,
        args: run.job.args,
        maxRuntimeSeconds: run.job.maxRuntimeSeconds,
        signal,
        globalArgs,
      });
      if (outcome.code !== 0) failures++;
      return outcome;
    },
  });
  await Promise.all([scheduling, serving]);
  env.output.result(
    { stopped: true, runs, failures, state },
    () => `scheduler stopped after ${runs} run(s), ${failures} failed`,
  );
}
