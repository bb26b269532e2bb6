import assert from "node:assert/strict";
import { test } from "node:test";
import { keepBundlesWhole } from "./bundles.ts";
import type { RetentionPlan } from "./retention.ts";

const at = (day: number) => `2026-11-${String(day).padStart(2, "0")}T00:00:00.000Z`;
const snap = (id: string, day: number, tags: string[] = []) => ({
  id,
  consistentAt: at(day),
  finishedAt: at(day),
  tags,
});

test("a member the policy would remove stays while another member of its bundle stays", () => {
  const listing = [
    snap("db-1", 1, ["bundle:b1"]),
    snap("cache-1", 1, ["bundle:b1"]),
    snap("db-2", 2, ["bundle:b2"]),
    snap("cache-2", 2, ["bundle:b2"]),
    snap("db-3", 3),
  ];
  const plans: RetentionPlan[] = [
    // db keeps only its newest; cache (no policy here) keeps everything by not being planned.
    {
      source: "db",
      keep: [{ id: "db-3", consistentAt: at(3), reasons: [{ rule: "last", detail: "1 of 1" }] }],
      remove: [
        { id: "db-1", consistentAt: at(1) },
        { id: "db-2", consistentAt: at(2) },
      ],
    },
  ];
  const [db] = keepBundlesWhole(plans, listing);
  assert.deepEqual(db!.remove, []);
  assert.deepEqual(
    db!.keep.map((kept) => [kept.id, kept.reasons[0]!.rule]),
    [
      ["db-1", "bundle"],
      ["db-2", "bundle"],
      ["db-3", "last"],
    ],
  );
});

test("a bundle whose every member the policies remove goes whole; snapshots outside bundles are untouched", () => {
  const listing = [snap("db-1", 1, ["bundle:b1"]), snap("cache-1", 1, ["bundle:b1"]), snap("db-2", 2)];
  const plans: RetentionPlan[] = [
    {
      source: "db",
      keep: [],
      remove: [
        { id: "db-1", consistentAt: at(1) },
        { id: "db-2", consistentAt: at(2) },
      ],
    },
    { source: "cache", keep: [], remove: [{ id: "cache-1", consistentAt: at(1) }] },
  ];
  const [db, cache] = keepBundlesWhole(plans, listing);
  assert.deepEqual(
    db!.remove.map(({ id }) => id),
    ["db-1", "db-2"],
  );
  assert.deepEqual(
    cache!.remove.map(({ id }) => id),
    ["cache-1"],
  );
});
