// The built-in scheduler behind `lifeboat schedule run`: one process, no
// server. Jobs run one at a time (a backup and a prune would only fight over
// the repository lock), so the same job never overlaps itself; a due time
// that passes while that job is still running is skipped, as Kubernetes'
// concurrencyPolicy: Forbid does. After downtime that missed runs, a job with
// catch_up runs once at start, never once per missed time. The clock, the
// sleep, the randomness of jitter and the way a job runs are passed in, so a
// simulated week runs in milliseconds in the tests.

import type { Job } from "../plan/schedule.ts";
import { missedSince } from "../plan/schedule.ts";

export interface SchedulerClock {
  now(): Date;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface DueRun {
  readonly job: Job;
  /** The due time this run stands for (the start time for a catch-up). */
  readonly due: Date;
  readonly catchUp: boolean;
}

export interface JobOutcome {
  /** The command's exit code; null when it was killed. */
  readonly code: number | null;
  /** Stopped after max_runtime. */
  readonly timedOut: boolean;
}

/** When each job last ran (its due time), kept across restarts for catch-up. */
export interface SchedulerState {
  load(): Promise<Record<string, string>>;
  save(state: Record<string, string>): Promise<void>;
}

export interface SchedulerOptions {
  readonly jobs: readonly Job[];
  readonly clock: SchedulerClock;
  readonly run: (run: DueRun, signal: AbortSignal) => Promise<JobOutcome>;
  readonly state: SchedulerState;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  /** In [0, 1): jitter's randomness. */
  readonly random?: () => number;
  /** Tests: stop once nothing is due before this moment. */
  readonly until?: Date;
}

export async function runScheduler(options: SchedulerOptions): Promise<void> {
  const { jobs, clock, signal, log } = options;
  const random = options.random ?? Math.random;
  const state = await options.state.load();
  const start = clock.now();
  const queue: DueRun[] = [];
  const nextDue = new Map<string, Date>();
  for (const job of jobs) {
    const last = state[job.name] ? new Date(state[job.name]!) : undefined;
    if (job.catchUp && missedSince(job, last, start)) {
      log(`${job.name}: missed while stopped (last ran for ${last!.toISOString()}); running it once now`);
      queue.push({ job, due: start, catchUp: true });
    }
    nextDue.set(job.name, job.next(start));
  }

  while (!signal.aborted) {
    const now = clock.now();
    for (const job of jobs) {
      const due = nextDue.get(job.name)!;
      if (due.getTime() > now.getTime()) continue;
      // Only the newest of the due times that passed counts: a job never piles up.
      nextDue.set(job.name, job.next(now));
      if (!queue.some((queued) => queued.job === job)) queue.push({ job, due, catchUp: false });
    }
    const run = queue.shift();
    if (run) {
      await runOne(run);
      continue;
    }
    const earliest = Math.min(...[...nextDue.values()].map((date) => date.getTime()));
    if (!Number.isFinite(earliest)) return; // no jobs
    if (options.until && earliest > options.until.getTime()) return;
    await clock.sleep(Math.max(0, earliest - now.getTime()), signal);
  }

  async function runOne(run: DueRun): Promise<void> {
    const { job } = run;
    if (job.jitterSeconds > 0) await clock.sleep(random() * job.jitterSeconds * 1000, signal);
    if (signal.aborted) return;
    const started = clock.now();
    log(`${job.name}: starting lifeboat ${job.args.join(" ")}${run.catchUp ? " (catch-up)" : ""}`);
    const outcome = await options.run(run, signal);
    const ended = clock.now();
    const seconds = ((ended.getTime() - started.getTime()) / 1000).toFixed(1);
    log(
      `${job.name}: ${outcome.timedOut ? "stopped after max_runtime" : outcome.code === 0 ? "succeeded" : `failed (exit ${outcome.code})`} in ${seconds}s`,
    );
    // A run stopped by SIGTERM did not happen: after a restart, catch-up runs it again.
    if (signal.aborted) return;
    state[job.name] = run.due.toISOString();
    await options.state.save(state);
    // Due times of this job that passed while it ran are skipped: it never overlaps itself.
    const due = nextDue.get(job.name)!;
    if (due.getTime() <= ended.getTime()) {
      log(`${job.name}: skipped the run due at ${due.toISOString()}: the previous run was still going`);
      nextDue.set(job.name, job.next(ended));
    }
  }
}
