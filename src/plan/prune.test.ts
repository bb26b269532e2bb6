import assert from "node:assert/strict";
import { test } from "node:test";
import { planPrune } from "./prune.ts";

const id = (n: number) => n.toString(16).padStart(64, "0");
const key = (n: number) => `data/${id(n).slice(0, 2)}/${id(n)}`;
const now = new Date("2026-12-01T12:00:00Z");
const ago = (ms: number) => now.getTime() - ms;
const HOUR = 3600_000;

test("deletes unreferenced objects older than the grace period, keeps referenced and young ones", () => {
  const plan = planPrune({
    referenced: new Set([id(1), id(2)]),
    objects: [
      { key: key(3), size: 30, modifiedMs: ago(2 * HOUR) },
      { key: key(1), size: 10, modifiedMs: ago(2 * HOUR) },
      { key: key(2), size: 20, modifiedMs: ago(1000) },
      { key: key(4), size: 40, modifiedMs: ago(1000) },
      { key: key(5), size: 50 }, // the store reports no time: cannot be judged
      { key: key(6), size: 60, modifiedMs: ago(HOUR + 1) },
    ],
    graceMs: HOUR,
    now,
  });
  assert.deepEqual(plan.remove, [
    { key: key(3), size: 30 },
    { key: key(6), size: 60 },
  ]);
  assert.equal(plan.removeBytes, 90);
  assert.deepEqual(plan.kept, { referenced: 2, referencedBytes: 30, young: 2, youngBytes: 90 });
});

test("a zero grace period deletes every unreferenced object, even one of unknown age", () => {
  const plan = planPrune({
    referenced: new Set([id(1)]),
    objects: [
      { key: key(1), size: 10, modifiedMs: now.getTime() },
      { key: key(2), size: 20, modifiedMs: now.getTime() },
      { key: key(3), size: 30 },
    ],
    graceMs: 0,
    now,
  });
  assert.deepEqual(
    plan.remove.map((object) => object.key),
    [key(2), key(3)],
  );
  assert.deepEqual(plan.kept, { referenced: 1, referencedBytes: 10, young: 0, youngBytes: 0 });
});

test("nothing unreferenced: nothing to delete", () => {
  const plan = planPrune({
    referenced: new Set([id(1)]),
    objects: [{ key: key(1), size: 1 }],
    graceMs: 0,
    now,
  });
  assert.deepEqual(plan.remove, []);
  assert.equal(plan.removeBytes, 0);
});
