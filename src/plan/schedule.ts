// The scheduled jobs of lifeboat.yaml as pure data and time arithmetic:
// which command each runs, and when it is due next. The scheduler
// (schedule/scheduler.ts) and `lifeboat schedule list` use these, and so will
// the renderers for Kubernetes and systemd.

import { Cron } from "croner";
import { parseDuration } from "../domain/duration.ts";

export type JobCommand = "backup" | "drill" | "check" | "forget" | "scenario";

export interface ScheduleSpec {
  readonly run: JobCommand;
  readonly cron?: string | undefined;
  readonly every?: string | undefined;
  readonly sources?: readonly string[] | undefined;
  readonly group?: string | undefined;
  readonly read_data_subset?: string | undefined;
  readonly prune?: boolean | undefined;
  readonly scenario?: string | undefined;
  readonly timezone?: string | undefined;
  readonly jitter?: string | undefined;
  readonly max_runtime?: string | undefined;
  readonly catch_up?: boolean | undefined;
}

export interface Job {
  readonly name: string;
  readonly run: JobCommand;
  /** The lifeboat command line after the global options, e.g. ["backup", "app-db"]. */
  readonly args: readonly string[];
  /** "cron 0 2 * * * (Europe/Berlin)" or "every 15m": for people. */
  readonly when: string;
  readonly jitterSeconds: number;
  readonly maxRuntimeSeconds: number | null;
  readonly catchUp: boolean;
  /** The first due time strictly after `after`. */
  next(after: Date): Date;
}

export function commandOf(spec: ScheduleSpec): string[] {
  switch (spec.run) {
    case "backup":
    case "drill":
      return [spec.run, ...(spec.group !== undefined ? ["--group", spec.group] : (spec.sources ?? []))];
    case "check":
      return ["check", ...(spec.read_data_subset ? [`--read-data-subset=${spec.read_data_subset}`] : [])];
    case "forget":
      return ["forget", ...(spec.sources ?? []), ...(spec.prune === false ? [] : ["--prune"])];
    case "scenario":
      return ["scenario", "run", spec.scenario ?? ""];
  }
}

export function jobOf(name: string, spec: ScheduleSpec): Job {
  let next: (after: Date) => Date;
  let when: string;
  if (spec.cron !== undefined) {
    const cron = new Cron(spec.cron, { paused: true, timezone: spec.timezone ?? "UTC" });
    next = (after) => {
      const due = cron.nextRun(after);
      if (!due) throw new RangeError(`schedule ${name}: the cron expression has no future run`);
      return due;
    };
    when = `cron ${spec.cron} (${spec.timezone ?? "UTC"})`;
  } else {
    const seconds = parseDuration(spec.every ?? "");
    if (!(seconds > 0)) throw new RangeError(`schedule ${name}: every must be positive`);
    const step = seconds * 1000;
    // Aligned to the epoch, so every host and every restart agree on the times.
    next = (after) => new Date((Math.floor(after.getTime() / step) + 1) * step);
    when = `every ${spec.every}`;
  }
  return {
    name,
    run: spec.run,
    args: commandOf(spec),
    when,
    jitterSeconds: spec.jitter ? parseDuration(spec.jitter) : 0,
    maxRuntimeSeconds: spec.max_runtime ? parseDuration(spec.max_runtime) : null,
    catchUp: spec.catch_up ?? true,
    next,
  };
}

export function jobsOf(schedules: Readonly<Record<string, ScheduleSpec>>): Job[] {
  return Object.entries(schedules).map(([name, spec]) => jobOf(name, spec));
}

/** The next `count` due times after `after`. */
export function upcoming(job: Job, after: Date, count: number): Date[] {
  const times: Date[] = [];
  let cursor = after;
  for (let n = 0; n < count; n++) {
    cursor = job.next(cursor);
    times.push(cursor);
  }
  return times;
}

/**
 * Whether a run was missed while the scheduler was down: the job last ran
 * (was due) at `lastDue`, and a due time after it has passed by `now`.
 */
export function missedSince(job: Job, lastDue: Date | undefined, now: Date): boolean {
  return lastDue !== undefined && job.next(lastDue).getTime() <= now.getTime();
}
