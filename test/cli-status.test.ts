// `lifeboat status` through the real CLI: ok once backed up and drilled,
// stale when the clock (--at) passes the RPO or the drill interval, failing
// after a failed backup and back to ok after a good one; never drilled is
// not ok; an unreadable repository (wrong password, missing storage) is a
// failing status naming the error, never ok. Run records are kept for
// successes and failures and hold no secret.

import assert from "node:assert/strict";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { workspace } from "./support/cli.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;
let ws: Workspace;

const yaml = (dir: string) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  uploads:
    engine: files
    path: "${dir}/uploads"
    objectives: { rpo: 1h, rto: 5m, drill_interval: 7d }
  notes:
    engine: files
    path: "${dir}/notes"
`;

const hoursFromNow = (hours: number) => new Date(Date.now() + hours * 3600_000).toISOString();

before(async () => {
  ws = await workspace(yaml);
  await mkdir(join(ws.dir, "uploads"));
  await mkdir(join(ws.dir, "notes"));
  await writeFile(join(ws.dir, "uploads", "a.txt"), "some uploaded bytes\n");
  await writeFile(join(ws.dir, "notes", "n.txt"), "a note\n");
  assert.equal((await ws.cli(["init"])).code, 0);
});
after(() => ws.cleanup());

test("never backed up, then backed up but never drilled: not ok (exit 13), reasons say why", async () => {
  const empty = await ws.cli(["status", "--json"]);
  assert.equal(empty.code, 13, empty.stderr);
  assert.equal(empty.json.verdict, "stale");
  const uploads = empty.json.sources.find((s: { source: string }) => s.source === "uploads");
  assert.equal(uploads.lastBackup, null);
  assert.ok(uploads.reasons.some((r: string) => r.includes("never backed up")));

  assert.equal((await ws.cli(["backup"])).code, 0);
  const undrilled = await ws.cli(["status", "uploads", "--json"]);
  assert.equal(undrilled.code, 13);
  assert.equal(undrilled.json.sources.length, 1, "only the named source");
  assert.equal(undrilled.json.sources[0].verdict, "never_drilled");
  assert.ok(undrilled.json.sources[0].lastBackup.ageSeconds < 60);
});

test("backed up and drilled: ok (exit 0); --at past the RPO, then past the drill interval: stale", async () => {
  const drill = await ws.cli(["drill", "--json"]);
  assert.equal(drill.code, 0, drill.stderr);
  const now = await ws.cli(["status", "--json"]);
  assert.equal(now.code, 0, now.stdout);
  assert.equal(now.json.verdict, "ok");
  const uploads = now.json.sources.find((s: { source: string }) => s.source === "uploads");
  assert.equal(uploads.lastDrill.status, "passed");
  assert.deepEqual(uploads.objectives, { rtoSeconds: 300, rpoSeconds: 3600, drillIntervalSeconds: 604800 });

  const later = await ws.cli(["status", "--at", hoursFromNow(2), "--json"]);
  assert.equal(later.code, 13);
  const stale = later.json.sources.find((s: { source: string }) => s.source === "uploads");
  assert.equal(stale.verdict, "stale");
  assert.ok(
    stale.reasons.some((r: string) => /newest backup is .* old, over the RPO of 1h/.test(r)),
    stale.reasons,
  );
  const notes = later.json.sources.find((s: { source: string }) => s.source === "notes");
  assert.equal(notes.verdict, "ok", "a source without objectives is not stale by age");

  const weekLater = await ws.cli(["status", "uploads", "--at", hoursFromNow(8 * 24)]);
  assert.equal(weekLater.code, 13);
  assert.match(weekLater.stdout, /newest passing drill is .* old, over the drill interval/);
  assert.match(weekLater.stdout, /verdict: STALE/);

  const bad = await ws.cli(["status", "--at", "yesterday-ish"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--at "yesterday-ish" is not a time/);
});

test("a failed backup makes the source failing (exit 14) with its error code; a good one clears it", async () => {
  await rename(join(ws.dir, "uploads"), join(ws.dir, "uploads-away"));
  const failed = await ws.cli(["backup", "uploads"]);
  assert.notEqual(failed.code, 0);
  const status = await ws.cli(["status", "--json"]);
  assert.equal(status.code, 14, status.stdout);
  const uploads = status.json.sources.find((s: { source: string }) => s.source === "uploads");
  assert.equal(uploads.verdict, "failing");
  assert.equal(uploads.lastFailedBackup.errorCode, "SOURCE_UNREACHABLE");
  assert.ok(uploads.lastBackup, "the older snapshot is still there");
  assert.equal(uploads.runs.backup.failed, 1);

  await rename(join(ws.dir, "uploads-away"), join(ws.dir, "uploads"));
  assert.equal((await ws.cli(["backup", "uploads"])).code, 0);
  const cleared = await ws.cli(["status", "uploads", "--json"]);
  assert.equal(cleared.code, 0, cleared.stdout);
  assert.equal(cleared.json.sources[0].lastFailedBackup.errorCode, "SOURCE_UNREACHABLE", "still listed");
});

test("a check that finds damage is a failing repository until a check passes", async () => {
  const pack = join(ws.dir, "repo", "data");
  const sub = (await readdir(pack))[0]!;
  const name = (await readdir(join(pack, sub))).find((n) => !n.startsWith("."))!;
  const file = join(pack, sub, name);
  const original = await readFile(file);
  const damaged = Buffer.from(original);
  damaged[damaged.length - 10]! ^= 0xff;
  await writeFile(file, damaged);
  try {
    assert.equal((await ws.cli(["check", "--read-data"])).code, 4);
    const status = await ws.cli(["status", "--json"]);
    assert.equal(status.code, 14);
    assert.equal(status.json.repository.lastFailedCheck.errorCode, "CHECKSUM_MISMATCH");
  } finally {
    await writeFile(file, original);
  }
  assert.equal((await ws.cli(["check", "--read-data"])).code, 0);
  assert.equal((await ws.cli(["status"])).code, 0);
});

test("an unreadable repository is failing with the error named, never ok", async () => {
  const wrong = await ws.cli(["status", "--json"], { LIFEBOAT_PASSWORD: "not the password" });
  assert.equal(wrong.code, 14);
  assert.equal(wrong.json.verdict, "failing");
  assert.equal(wrong.json.repository.error.code, "WRONG_PASSWORD");
  for (const source of wrong.json.sources) assert.equal(source.verdict, "failing");
  assert.ok(!wrong.stdout.includes("not the password"));

  await rename(join(ws.dir, "repo"), join(ws.dir, "repo-away"));
  try {
    const missing = await ws.cli(["status"]);
    assert.equal(missing.code, 14);
    assert.match(missing.stdout, /repository: \[REPOSITORY_NOT_FOUND\]/);
    assert.match(missing.stdout, /verdict: FAILING/);
  } finally {
    await rename(join(ws.dir, "repo-away"), join(ws.dir, "repo"));
  }
});

test("run records: one per run, successes and failures, sealed (no plaintext, no secret)", async () => {
  const runs = (await readdir(join(ws.dir, "repo", "runs"))).filter((name) => !name.startsWith("."));
  assert.ok(runs.length >= 7, `records: ${runs.length}`);
  for (const name of runs) {
    const bytes = await readFile(join(ws.dir, "repo", "runs", name));
    assert.ok(!bytes.includes("SOURCE_UNREACHABLE"), "records are encrypted");
    assert.ok(!bytes.includes(ws.password));
  }
});

test("the local catalog of run records: used when intact, ignored when damaged", async () => {
  const first = await ws.cli(["status", "--json"]);
  const catalogs: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.includes("runs.catalog")) catalogs.push(path);
    }
  };
  await walk(join(ws.dir, "cache"));
  assert.equal(catalogs.length, 1, "status keeps decoded run records in the local cache");
  const bytes = await readFile(catalogs[0]!);
  assert.ok(!bytes.includes("SOURCE_UNREACHABLE"), "the catalog is sealed like the repository");
  bytes[bytes.length - 3]! ^= 0xff;
  await writeFile(catalogs[0]!, bytes);
  const second = await ws.cli(["status", "--json"]);
  assert.equal(second.code, first.code, second.stderr);
  assert.deepEqual(second.json.sources[0].runs, first.json.sources[0].runs);
});
