// The scheduler over a simulated week, with an injected clock: exactly the
// expected runs, one at a time, a job never overlapping itself, and one
// catch-up (not one per missed time) after downtime.

import assert from "node:assert/strict";
import { test } from "node:test";
import { jobOf, type Job } from "../plan/schedule.ts";
import { runScheduler, type DueRun, type SchedulerClock } from "./scheduler.ts";

function simulatedClock(start: Date): SchedulerClock & { advance(ms: number): void } {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    sleep: async (ms) => {
      now += ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

interface Ran {
  readonly name: string;
  readonly due: string;
  readonly start: number;
  readonly end: number;
  readonly catchUp: boolean;
}

async function simulate(
  jobs: Job[],
  options: {
    start: string;
    days: number;
    durations?: Record<string, number>;
    state?: Record<string, string>;
  },
) {
  const start = new Date(options.start);
  const clock = simulatedClock(start);
  const ran: Ran[] = [];
  const saved: Record<string, string>[] = [];
  const log: string[] = [];
  await runScheduler({
    jobs,
    clock,
    signal: new AbortController().signal,
    log: (line) => log.push(line),
    random: () => 0.5,
    until: new Date(start.getTime() + options.days * 86_400_000),
    state: { load: async () => ({ ...options.state }), save: async (state) => void saved.push({ ...state }) },
    run: async (run: DueRun) => {
      const begin = clock.now().getTime();
      clock.advance((options.durations?.[run.job.name] ?? 60) * 1000);
      ran.push({
        name: run.job.name,
        due: run.due.toISOString(),
        start: begin,
        end: clock.now().getTime(),
        catchUp: run.catchUp,
      });
      return { code: 0, timedOut: false };
    },
  });
  return { ran, saved, log };
}

test("a week: nightly backups at 02:00, a weekly drill, a check every 6h; one at a time", async () => {
  const jobs = [
    jobOf("nightly", { run: "backup", cron: "0 2 * * *" }),
    jobOf("weekly-drill", { run: "drill", cron: "0 3 * * 1", sources: ["app"] }),
    jobOf("check", { run: "check", every: "6h", read_data_subset: "10%" }),
  ];
  const { ran } = await simulate(jobs, { start: "2026-11-30T00:00:00Z", days: 7 }); // a Monday
  const of = (name: string) => ran.filter((run) => run.name === name).map((run) => run.due);
  assert.deepEqual(
    of("nightly"),
    [30, 1, 2, 3, 4, 5, 6].map(
      (day, index) => `2026-${index === 0 ? "11" : "12"}-${String(day).padStart(2, "0")}T02:00:00.000Z`,
    ),
  );
  assert.deepEqual(of("weekly-drill"), ["2026-11-30T03:00:00.000Z"]);
  assert.equal(of("check").length, 3 + 6 * 4 + 1, "every 6h from 06:00 Monday through 00:00 the next Monday");
  for (let index = 1; index < ran.length; index++)
    assert.ok(ran[index]!.start >= ran[index - 1]!.end, "runs never overlap");
  assert.equal(jobs[2]!.args.join(" "), "check --read-data-subset=10%");
  assert.equal(
    jobOf("bundle", { run: "backup", every: "1h", group: "platform" }).args.join(" "),
    "backup --group platform",
  );
});

test("a job still running at its next due time skips that time instead of overlapping or piling up", async () => {
  const jobs = [
    jobOf("slow", { run: "backup", every: "1h" }),
    jobOf("other", { run: "check", every: "30m" }),
  ];
  const { ran, log } = await simulate(jobs, {
    start: "2026-12-01T00:00:00Z",
    days: 0.5,
    durations: { slow: 90 * 60 },
  });
  const slow = ran.filter((run) => run.name === "slow");
  // Due at 01:00 and runs until 02:30: 02:00 is skipped, 03:00 runs, and so on.
  assert.deepEqual(
    slow.map((run) => run.due.slice(11, 16)),
    ["01:00", "03:00", "05:00", "07:00", "09:00", "11:00"],
  );
  assert.ok(log.some((line) => line.startsWith("slow: skipped the run due at 2026-12-01T02:00")));
  // The other job waits its turn (one job at a time) and runs once per slot it was due in, never twice queued.
  const other = ran.filter((run) => run.name === "other");
  assert.equal(new Set(other.map((run) => run.due)).size, other.length);
  for (let index = 1; index < ran.length; index++) assert.ok(ran[index]!.start >= ran[index - 1]!.end);
});

test("after downtime that missed three nightly runs, catch-up runs once at start; catch_up: false does not", async () => {
  const state = { nightly: "2026-11-27T02:00:00.000Z", lazy: "2026-11-27T02:00:00.000Z" };
  const jobs = [
    jobOf("nightly", { run: "backup", cron: "0 2 * * *" }),
    jobOf("lazy", { run: "backup", cron: "0 2 * * *", catch_up: false }),
  ];
  const { ran, saved } = await simulate(jobs, { start: "2026-11-30T12:00:00Z", days: 1, state });
  assert.deepEqual(
    ran.map((run) => `${run.name} ${run.due} ${run.catchUp}`),
    [
      "nightly 2026-11-30T12:00:00.000Z true",
      "nightly 2026-12-01T02:00:00.000Z false",
      "lazy 2026-12-01T02:00:00.000Z false",
    ],
  );
  assert.equal(saved.at(-1)!["nightly"], "2026-12-01T02:00:00.000Z", "the last due time is remembered");
  const fresh = await simulate(jobs, {
    start: "2026-11-30T12:00:00Z",
    days: 0.25,
    state: { nightly: "2026-11-30T02:00:00.000Z" },
  });
  assert.equal(fresh.ran.length, 0, "nothing was missed since the last run");
});

test("cron in a time zone, jitter, and an expression without future runs", async () => {
  const berlin = jobOf("berlin", {
    run: "check",
    cron: "0 4 * * *",
    timezone: "Europe/Berlin",
    jitter: "10m",
  });
  assert.equal(berlin.next(new Date("2026-12-01T00:00:00Z")).toISOString(), "2026-12-01T03:00:00.000Z");
  assert.equal(berlin.jitterSeconds, 600);
  const { ran } = await simulate([berlin], { start: "2026-12-01T00:00:00Z", days: 1 });
  assert.equal(ran.length, 1);
  assert.equal(
    new Date(ran[0]!.start).toISOString(),
    "2026-12-01T03:05:00.000Z",
    "started half the jitter late (random 0.5)",
  );
});

test("SIGTERM while waiting ends the scheduler at once; a run it stopped is not remembered as done", async () => {
  const controller = new AbortController();
  const saved: Record<string, string>[] = [];
  let sleeping = 0;
  await runScheduler({
    jobs: [jobOf("j", { run: "backup", every: "1s" })],
    clock: {
      now: () => new Date(),
      sleep: async (ms, signal) => {
        sleeping++;
        await new Promise((resolve) => setTimeout(resolve, Math.min(ms, 20)));
        if (sleeping > 1 && !signal.aborted) controller.abort();
      },
    },
    signal: controller.signal,
    log: () => {},
    state: { load: async () => ({}), save: async (state) => void saved.push(state) },
    run: async () => {
      controller.abort(); // SIGTERM arrives mid-job
      return { code: 130, timedOut: false };
    },
  });
  assert.ok(controller.signal.aborted);
  assert.deepEqual(saved, [], "an interrupted run leaves the job due again (catch-up after a restart)");
});
