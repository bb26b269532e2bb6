import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { test } from "node:test";
import { draft, newRepository, rejectsWith } from "../../test/support/repository-testing.ts";
import { parseConfig } from "../engines/config.ts";
import { LifeboatError } from "../errors.ts";
import type { Repository } from "../repository/types.ts";
import type { OperationContext } from "./context.ts";
import { applyForget, choosePolicies, planForget, type PolicyChoice, type SourcePolicy } from "./forget.ts";

async function commit(repository: Repository, source: string, consistentAt: string, tags: string[] = []) {
  const writer = await repository.newSnapshotWriter();
  await writer.write("data", Readable.from([Buffer.from(`${source} at ${consistentAt}`)]));
  return (await writer.commit({ ...draft(source, consistentAt), tags })).id;
}

const contextOf = (repository: Repository, signal?: AbortSignal) =>
  ({ repository, ...(signal ? { signal } : {}) }) as unknown as OperationContext;

const day = (n: number) => `2025-03-${String(n).padStart(2, "0")}T12:00:00.000Z`;

test("the applied plan removes exactly what the dry-run plan lists; pins, damage and drill reports stay", async () => {
  const { backend, repository } = await newRepository();
  const app = [];
  for (let n = 1; n <= 5; n++) app.push(await commit(repository, "app", day(n), n === 1 ? ["pin"] : []));
  const other = await commit(repository, "other", day(1));
  const damagedKey = `snapshots/${"ab".repeat(32)}`;
  await backend.put(damagedKey, Buffer.from("not a manifest"));
  const report = { id: "20250301T120000Z-aa", source: "app", snapshot: { id: app[1] } };
  await repository.saveDrillReport(report);

  const policies: SourcePolicy[] = [{ source: "app", policy: { keepLast: 2 }, from: "default" }];
  const dry = await planForget(contextOf(repository), policies, true);
  assert.deepEqual(dry.remove, [app[1], app[2]]);
  assert.deepEqual(
    dry.sources[0]?.keep.map(({ id, reasons }) => [id, reasons.map((reason) => reason.rule)]),
    [
      [app[0], ["pinned"]],
      [app[3], ["last"]],
      [app[4], ["last"]],
    ],
  );
  assert.deepEqual(dry.skipped, [{ source: "other", snapshots: 1, reason: "not a source in lifeboat.yaml" }]);
  assert.deepEqual(
    dry.damaged.map((damage) => damage.object),
    [damagedKey],
  );

  const again = await planForget(contextOf(repository), policies, true);
  assert.deepEqual(again, dry, "planning twice gives the same plan");
  assert.deepEqual(await applyForget(contextOf(repository), again), dry.remove);

  const left = (await repository.listSnapshots()).map(({ id }) => id).sort();
  assert.deepEqual(left, [app[0], app[3], app[4], other].sort());
  assert.ok(await backend.stat(damagedKey), "a damaged manifest is never removed");
  assert.deepEqual(await repository.listDrillReports(), [report], "drill reports are kept");
  await rejectsWith(repository.findSnapshot(app[1]!), "SNAPSHOT_NOT_FOUND");
  // The chunks of a forgotten snapshot stay until prune: check finds them unreferenced, nothing broken.
  const checked = await repository.check({ readDataPercent: 100 });
  assert.deepEqual(
    checked.problems.map((problem) => problem.object),
    [damagedKey],
    "only the damaged manifest planted above",
  );
  assert.equal(checked.unreferenced, 2);

  const after = await planForget(contextOf(repository), policies, true);
  assert.deepEqual(after.remove, [], "a finished forget has nothing more to remove");
  await repository.close();
});

test("an interrupted forget stops between deletions, and the next run finishes", async () => {
  const { repository } = await newRepository();
  for (let n = 1; n <= 4; n++) await commit(repository, "app", day(n));
  const policies: SourcePolicy[] = [{ source: "app", policy: { keepLast: 1 }, from: "flags" }];
  const plan = await planForget(contextOf(repository), policies, false);
  const abort = new AbortController();
  abort.abort(new LifeboatError("INTERRUPTED", "interrupted by SIGTERM"));
  await rejectsWith(applyForget(contextOf(repository, abort.signal), plan), "INTERRUPTED");
  assert.equal((await repository.listSnapshots()).length, 4);
  const rest = await planForget(contextOf(repository), policies, false);
  assert.equal((await applyForget(contextOf(repository), rest)).length, 3);
  assert.equal((await repository.listSnapshots()).length, 1);
  await repository.close();
});

test("policies: flags replace a source's own, which replaces the default; none anywhere is refused", () => {
  const sources = [
    ["db", { retention: { keep_daily: 7 } }],
    ["files", {}],
  ] as const;
  const choose = (flags: { keepLast: number } | undefined, named = false, defaultPolicy = { keep_last: 2 }) =>
    choosePolicies({ sources, defaultPolicy, flags, named }).map(({ source, policy, from }) => [
      source,
      policy,
      from,
    ]);
  assert.deepEqual(choose(undefined), [
    ["db", { keepDaily: 7 }, "source"],
    ["files", { keepLast: 2 }, "default"],
  ]);
  assert.deepEqual(choose({ keepLast: 5 }), [
    ["db", { keepLast: 5 }, "flags"],
    ["files", { keepLast: 5 }, "flags"],
  ]);
  type Sources = PolicyChoice["sources"];
  const noDefault = (named: boolean, names: Sources = sources) =>
    choosePolicies({ sources: names, defaultPolicy: undefined, flags: undefined, named });
  assert.deepEqual(
    noDefault(false).map(({ source, from }) => [source, from]),
    [
      ["db", "source"],
      ["files", undefined],
    ],
    "unnamed: a source without a policy is left to the plan to skip",
  );
  assert.throws(() => noDefault(true), /no retention policy for files/);
  assert.throws(() => noDefault(false, [["files", {}]]), { code: "NO_RETENTION_POLICY" });
  assert.throws(() => noDefault(false, [["files", { retention: {} }]]), { code: "NO_RETENTION_POLICY" });
});

test("lifeboat.yaml: retention blocks parse, and every bad field is reported with its path", () => {
  const config = parseConfig(`repository: { url: "file:///r", password_env: P }
retention: { keep_last: 3, keep_hourly: 24, keep_daily: 7, keep_weekly: 4, keep_monthly: 6 }
sources:
  db: { engine: sqlite, path: /d.db, retention: { keep_within: 7d, keep_tags: [release] } }
  files: { engine: files, path: /f }
`);
  const chosen = choosePolicies({
    sources: Object.entries(config.sources),
    defaultPolicy: config.retention,
    flags: undefined,
    named: false,
  });
  assert.deepEqual(
    chosen.map(({ source, policy }) => [source, policy]),
    [
      ["db", { keepWithin: "7d", keepTags: ["release"] }],
      ["files", { keepLast: 3, keepHourly: 24, keepDaily: 7, keepWeekly: 4, keepMonthly: 6 }],
    ],
  );
  try {
    parseConfig(`repository: { url: "file:///r", password_env: P }
retention: { keep_last: 0, keep_within: 1y }
sources:
  db: { engine: sqlite, path: /d.db, retention: { keep_dayly: 7 } }
`);
    assert.fail("expected BAD_CONFIG");
  } catch (error) {
    assert.ok(error instanceof LifeboatError && error.code === "BAD_CONFIG", String(error));
    const paths = (error.details["problems"] as { path: string }[]).map(({ path }) => path).sort();
    assert.deepEqual(paths, ["retention.keep_last", "retention.keep_within", "sources.db.retention"]);
  }
});
