import assert from "node:assert/strict";
import { test } from "node:test";
import { PhaseClock } from "./phase-clock.ts";

test("phases run back to back and add up to the wall time, finer measured phases included", () => {
  let now = 1000;
  const clock = new PhaseClock(() => now, 1000);
  now = 1500;
  clock.lap("layDown");
  assert.equal(clock.current, "layDown");
  now = 11_500; // 10 s in the engine: it measured 6 s lay-down, 3 s replay, 0.5 s promote
  clock.replaceWith({ layDown: 6, replay: 3, promote: 0.5 }, "verify");
  assert.equal(clock.mark, 11_500);
  now = 12_500;
  clock.lap("teardown");
  assert.deepEqual(clock.phases, { select: 0.5, layDown: 6.5, replay: 3, promote: 0.5, verify: 1 });
  const total = Object.values(clock.phases).reduce((sum, seconds) => sum + seconds, 0);
  assert.equal(total, (12_500 - 1000) / 1000);
});
