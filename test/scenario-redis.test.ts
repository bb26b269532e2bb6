// A scenario drill against real Redis Sentinel: three sentinels watch a
// master and its replica; the scenario kills the master and waits for the
// sentinels' own failover (no recover action), and the probe passes once the
// replica answers ROLE as master. The achieved RTO is the failover's.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { workspace } from "./support/cli.ts";
import { startSentinelSet, type SentinelSet } from "./support/redis-sentinel.ts";

let set: SentinelSet;
let ws: Awaited<ReturnType<typeof workspace>>;

before(async () => {
  set = await startSentinelSet();
  ws = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
reports: { dir: "${dir}/reports" }
scenarios:
  sentinel-failover:
    expected: { rto: 30s }
    steps:
      - steady: { redis: "ROLE", url: "${set.master.url}", equals: master, timeout: 5s }
      - steady: { redis: "ROLE", url: "${set.replica.url}", equals: slave, timeout: 5s }
      - disrupt: { command: ${JSON.stringify(set.killMasterCommand)} }
      - recover: { wait: 0s }
      - probe: { redis: "ROLE", url: "${set.replica.url}", equals: master, interval: 200ms, timeout: 30s }
`,
  );
});
after(async () => {
  await ws?.cleanup();
  await set?.stop();
});

test("kill the master: the sentinels promote the replica, and the RTO is measured", async () => {
  const run = await ws.cli(["scenario", "run", "sentinel-failover", "--json"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.equal(run.json.status, "passed");
  const probe = run.json.steps.at(-1);
  assert.equal(probe.kind, "probe");
  assert.ok(probe.attempts > 1, "the replica was not master at once");
  // Sentinel needs down-after-milliseconds (1 s) and an election: not instant, well within the budget.
  assert.ok(run.json.rto.achieved >= 1 && run.json.rto.achieved < 30, String(run.json.rto.achieved));
  assert.equal(run.json.rto.met, true);
  assert.equal(run.json.lost_writes, null);
  // The sentinels agree with the probe (their view may trail the promoted server's own by a moment).
  let master = await set.currentMaster();
  for (let tries = 0; master.port !== set.replica.port && tries < 50; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    master = await set.currentMaster();
  }
  assert.equal(master.port, set.replica.port);
});
