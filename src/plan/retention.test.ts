import assert from "node:assert/strict";
import { test } from "node:test";
import { isLifeboatError } from "../errors.ts";
import {
  calendarUnitOf,
  planRetention,
  policyFromConfig,
  type RetentionCandidate,
  type RetentionPolicy,
} from "./retention.ts";

// Ids are the consistent points themselves, so expected sets read as times.
const at = (consistentAt: string, tags: string[] = []): RetentionCandidate => ({
  id: consistentAt,
  consistentAt,
  finishedAt: consistentAt,
  tags,
});

function series(from: string, count: number, stepMs: number): RetentionCandidate[] {
  const start = Date.parse(from);
  return Array.from({ length: count }, (_, i) => at(new Date(start + i * stepMs).toISOString()));
}

const hour = 3_600_000;
const day = 24 * hour;

const plan = (snapshots: readonly RetentionCandidate[], policy: RetentionPolicy, pinned?: Set<string>) =>
  planRetention({ source: "app", snapshots, policy, ...(pinned ? { pinned } : {}) });
const keptIds = (result: ReturnType<typeof plan>) => result.keep.map((snapshot) => snapshot.id);

function refusal(run: () => unknown, code: string): string {
  try {
    run();
  } catch (error) {
    assert.ok(isLifeboatError(error), String(error));
    assert.equal(error.code, code);
    return error.message;
  }
  assert.fail(`expected ${code}`);
}

// Seed 003's tiers (hourly kept 24 h, daily 7 d, weekly 30 d, monthly 180 d) as counts:
// the policy the interface contract writes for them.
const seedTiers = policyFromConfig({ keep_hourly: 24, keep_daily: 7, keep_weekly: 4, keep_monthly: 6 });

test("a year of daily snapshots plus hourly ones for the last two days, under seed 003's tiers", () => {
  // 2024 is a leap year: 366 nightly backups at 02:00, and 48 hourly ones at :30 on Dec 30 and 31.
  const daily = series("2024-01-01T02:00:00.000Z", 366, day);
  const hourly = series("2024-12-30T00:30:00.000Z", 48, hour);
  const result = plan([...hourly, ...daily].reverse(), seedTiers);

  // Worked out by hand from the calendar, not by the code under test:
  // hourly 24: the :30 snapshots of Dec 31, 00:30 to 23:30 (the 02:00 one shares its hour with 02:30);
  // daily 7: Dec 31 and Dec 30 (their 23:30), Dec 29 .. Dec 25 (02:00);
  // weekly 4: 2025-W01 (Mon Dec 30: Dec 31 23:30), 2024-W52 (Dec 29), W51 (Dec 22), W50 (Dec 15);
  // monthly 6: Dec (Dec 31 23:30), Nov 30, Oct 31, Sep 30, Aug 31, Jul 31.
  const expected = [
    ...["07-31", "08-31", "09-30", "10-31", "11-30", "12-15", "12-22"].map((d) => `2024-${d}T02:00:00.000Z`),
    ...["25", "26", "27", "28", "29"].map((d) => `2024-12-${d}T02:00:00.000Z`),
    "2024-12-30T23:30:00.000Z",
    ...Array.from({ length: 24 }, (_, h) => `2024-12-31T${String(h).padStart(2, "0")}:30:00.000Z`),
  ];
  assert.deepEqual(keptIds(result), expected);
  assert.equal(result.remove.length, 366 + 48 - expected.length);
  assert.equal(result.keep.length + result.remove.length, 414);

  const reasons = (id: string) => result.keep.find((snapshot) => snapshot.id === id)?.reasons;
  assert.deepEqual(reasons("2024-12-31T23:30:00.000Z"), [
    { rule: "hourly", detail: "2024-12-31T23h" },
    { rule: "daily", detail: "2024-12-31" },
    { rule: "weekly", detail: "2025-W01" },
    { rule: "monthly", detail: "2024-12" },
  ]);
  assert.deepEqual(reasons("2024-12-29T02:00:00.000Z"), [
    { rule: "daily", detail: "2024-12-29" },
    { rule: "weekly", detail: "2024-W52" },
  ]);
  assert.deepEqual(reasons("2024-07-31T02:00:00.000Z"), [{ rule: "monthly", detail: "2024-07" }]);
  // The 02:00 snapshot of Dec 31 is not the newest of any unit.
  assert.ok(result.remove.some((snapshot) => snapshot.id === "2024-12-31T02:00:00.000Z"));
});

test("ISO weeks and UTC units at year boundaries", () => {
  assert.equal(calendarUnitOf("weekly", new Date("2024-12-30T00:00:00Z")), "2025-W01");
  assert.equal(calendarUnitOf("weekly", new Date("2024-12-29T23:59:59Z")), "2024-W52");
  assert.equal(calendarUnitOf("weekly", new Date("2021-01-03T12:00:00Z")), "2020-W53");
  assert.equal(calendarUnitOf("weekly", new Date("2026-01-01T00:00:00Z")), "2026-W01");
  assert.equal(calendarUnitOf("weekly", new Date("2027-01-01T00:00:00Z")), "2026-W53");
  // Units are UTC whatever the offset the time was written with.
  assert.equal(calendarUnitOf("daily", new Date("2024-03-01T01:00:00+02:00")), "2024-02-29");
  assert.equal(calendarUnitOf("yearly", new Date("2025-01-01T00:30:00+01:00")), "2024");
});

test("counted units are units that have snapshots: a gap uses up no count", () => {
  const snapshots = ["2024-01-01", "2024-01-02", "2024-01-10", "2024-01-20"].map((d) =>
    at(`${d}T12:00:00.000Z`),
  );
  assert.deepEqual(keptIds(plan(snapshots, { keepDaily: 3 })), [
    "2024-01-02T12:00:00.000Z",
    "2024-01-10T12:00:00.000Z",
    "2024-01-20T12:00:00.000Z",
  ]);
});

test("keep-last keeps the N newest, numbered from the newest", () => {
  const snapshots = series("2024-05-01T00:00:00.000Z", 5, hour);
  const result = plan(snapshots, { keepLast: 2 });
  assert.deepEqual(result.keep, [
    {
      id: "2024-05-01T03:00:00.000Z",
      consistentAt: "2024-05-01T03:00:00.000Z",
      reasons: [{ rule: "last", detail: "2 of 2" }],
    },
    {
      id: "2024-05-01T04:00:00.000Z",
      consistentAt: "2024-05-01T04:00:00.000Z",
      reasons: [{ rule: "last", detail: "1 of 2" }],
    },
  ]);
  assert.deepEqual(
    result.remove.map((snapshot) => snapshot.id),
    ["2024-05-01T00:00:00.000Z", "2024-05-01T01:00:00.000Z", "2024-05-01T02:00:00.000Z"],
  );
  assert.equal(plan(snapshots, { keepLast: 10 }).remove.length, 0);
});

test("keep-within counts back from the newest snapshot, not the clock, boundary included", () => {
  const snapshots = series("2024-05-01T00:00:00.000Z", 30, hour); // 00:00 on May 1 to 05:00 on May 2
  const result = plan(snapshots, { keepWithin: "1d" });
  // Newest is 2024-05-02T05:00; exactly one day older (May 1 05:00) is still within.
  assert.equal(result.keep[0]?.id, "2024-05-01T05:00:00.000Z");
  assert.equal(result.keep.length, 25);
  assert.deepEqual(result.keep[0]?.reasons, [{ rule: "within", detail: "1d of 2024-05-02T05:00:00.000Z" }]);
  assert.equal(result.remove.at(-1)?.id, "2024-05-01T04:00:00.000Z");
  // Backups that stopped long ago lose nothing to keep-within: the anchor is the newest snapshot.
  assert.equal(plan(snapshots.slice(0, 3), { keepWithin: "90m" }).keep.length, 2);
});

test("keep-tag keeps tagged snapshots; pinned ones are kept whatever the policy", () => {
  const snapshots = [
    at("2024-01-01T00:00:00.000Z", ["release", "other"]),
    at("2024-01-02T00:00:00.000Z"),
    at("2024-01-03T00:00:00.000Z", ["audit"]),
    at("2024-01-04T00:00:00.000Z"),
    at("2024-01-05T00:00:00.000Z"),
  ];
  const result = plan(
    snapshots,
    { keepLast: 1, keepTags: ["release", "audit"] },
    new Set(["2024-01-02T00:00:00.000Z"]),
  );
  assert.deepEqual(
    result.keep.map(({ id, reasons }) => [id, reasons]),
    [
      ["2024-01-01T00:00:00.000Z", [{ rule: "tag", detail: "release" }]],
      ["2024-01-02T00:00:00.000Z", [{ rule: "pinned", detail: "pinned" }]],
      ["2024-01-03T00:00:00.000Z", [{ rule: "tag", detail: "audit" }]],
      ["2024-01-05T00:00:00.000Z", [{ rule: "last", detail: "1 of 1" }]],
    ],
  );
  assert.deepEqual(result.remove, [
    { id: "2024-01-04T00:00:00.000Z", consistentAt: "2024-01-04T00:00:00.000Z" },
  ]);
});

test("several rules: the union, each kept snapshot with every reason", () => {
  const snapshots = series("2024-05-01T00:00:00.000Z", 72, hour); // three days, hourly
  const byLast = new Set(keptIds(plan(snapshots, { keepLast: 3 })));
  const byDaily = new Set(keptIds(plan(snapshots, { keepDaily: 3 })));
  const both = plan(snapshots, { keepLast: 3, keepDaily: 3 });
  assert.deepEqual(new Set(keptIds(both)), new Set([...byLast, ...byDaily]));
  assert.equal(both.keep.length, 5); // the newest is both last and daily
  assert.deepEqual(both.keep.at(-1)?.reasons, [
    { rule: "last", detail: "1 of 3" },
    { rule: "daily", detail: "2024-05-03" },
  ]);
});

test("an empty policy is refused, and so is one that keeps no snapshot", () => {
  const snapshots = series("2024-05-01T00:00:00.000Z", 3, hour);
  assert.match(
    refusal(() => plan(snapshots, {}), "NO_RETENTION_POLICY"),
    /app has no rule/,
  );
  assert.match(
    refusal(() => plan(snapshots, { keepTags: [] }), "NO_RETENTION_POLICY"),
    /no rule/,
  );
  assert.match(
    refusal(() => plan(snapshots, { keepTags: ["nothing-has-it"] }), "RETENTION_KEEPS_NOTHING"),
    /keeps none of its 3 snapshot/,
  );
  // A source without snapshots has nothing to remove: no refusal.
  assert.deepEqual(plan([], { keepTags: ["x"] }), { source: "app", keep: [], remove: [] });
});

test("deterministic: the listing order and equal times do not change the plan", () => {
  const snapshots = [
    ...series("2024-05-01T00:00:00.000Z", 48, hour),
    // Two snapshots at the same consistent point: the later finished one is the newer.
    {
      id: "b-same-time",
      consistentAt: "2024-05-02T23:00:00.000Z",
      finishedAt: "2024-05-02T23:00:05.000Z",
      tags: [],
    },
  ];
  const policy = { keepLast: 1, keepHourly: 5, keepDaily: 2 };
  const forward = plan(snapshots, policy);
  // By time of day: the days interleave.
  const shuffled = [...snapshots].sort((a, b) => a.id.slice(11).localeCompare(b.id.slice(11)));
  assert.deepEqual(plan([...snapshots].reverse(), policy), forward);
  assert.deepEqual(plan(shuffled, policy), forward);
  assert.deepEqual(forward.keep.at(-1)?.id, "b-same-time");
  // Re-planning what a finished forget left removes nothing more.
  const left = snapshots.filter((snapshot) => forward.keep.some((kept) => kept.id === snapshot.id));
  assert.deepEqual(plan(left, policy).keep, forward.keep);
  assert.equal(plan(left, policy).remove.length, 0);
});

test("a snapshot whose time cannot be read is kept, not guessed", () => {
  const result = plan([at("not a time"), ...series("2024-05-01T00:00:00.000Z", 3, hour)], { keepLast: 1 });
  assert.deepEqual(result.keep[0], {
    id: "not a time",
    consistentAt: "not a time",
    reasons: [{ rule: "unknown-time", detail: "not a time" }],
  });
  assert.equal(result.remove.length, 2);
});

test("policyFromConfig maps every field and leaves absent rules out", () => {
  assert.deepEqual(
    policyFromConfig({
      keep_last: 1,
      keep_hourly: 2,
      keep_daily: 3,
      keep_weekly: 4,
      keep_monthly: 5,
      keep_yearly: 6,
      keep_within: "7d",
      keep_tags: ["t"],
    }),
    {
      keepLast: 1,
      keepHourly: 2,
      keepDaily: 3,
      keepWeekly: 4,
      keepMonthly: 5,
      keepYearly: 6,
      keepWithin: "7d",
      keepTags: ["t"],
    },
  );
  assert.deepEqual(policyFromConfig({}), {});
});
