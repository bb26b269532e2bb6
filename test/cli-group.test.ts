// Groups end to end through the CLI, against real servers: a Redis source
// backed up, restored and drilled with a redis: check; a group of
// PostgreSQL + Redis + files backed up from one barrier into one bundle,
// drilled together with a check that uses every member at once, one RTO for
// the group; a failing group check; a member that cannot be captured (no
// bundle); retention keeping a bundle whole; a group naming an unknown source.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { workspace } from "./support/cli.ts";
import { startCluster, type PgCluster } from "./support/pg-cluster.ts";
import { startRedis, type TestRedis } from "./support/redis-server.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;

describe("lifeboat with a redis source and a group", () => {
  let pg: PgCluster;
  let redis: TestRedis;
  let target: TestRedis;
  let ws: Workspace;

  before(async () => {
    [pg, redis, target] = await Promise.all([startCluster(), startRedis(), startRedis()]);
    await pg.psql("CREATE DATABASE app");
    await pg.psql(
      "CREATE TABLE bookings (id serial PRIMARY KEY, note text); INSERT INTO bookings (note) SELECT 'n' || g FROM generate_series(1, 1000) g;",
      "app",
    );
    const client = await redis.client();
    await client.sendCommand(["SET", "feature:123", "0.75"]);
    await client.sendCommand(["HSET", "user:1", "name", "Zoë"]);
    await client.sendCommand(["SELECT", "2"]);
    await client.sendCommand(["RPUSH", "queue", "a", "b", "c"]);
    ws = await workspace((dir) => {
      return `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
reports: { dir: "${dir}/reports" }
sources:
  app-db:
    engine: postgres
    url: "${pg.url("app")}"
  cache:
    engine: redis
    url: "${redis.url}"
    objectives: { rto: 10m, rpo: 1d }
    drill:
      checks:
        - redis: "GET feature:123"
          equals: "0.75"
        - redis: "HGET user:1 name"
  uploads:
    engine: files
    path: "${dir}/uploads"
  dead-cache:
    engine: redis
    url: "redis://127.0.0.1:1"
groups:
  platform:
    sources: [app-db, cache, uploads]
    objectives: { rto: 10m }
    checks:
      - command: >-
          test "$(psql "$APP_DB_DATABASE_URL" -Atc 'select count(*) from bookings')" = 1000 &&
          test "$(redis-cli -u "$CACHE_REDIS_URL" GET feature:123)" = 0.75 &&
          test -f "$UPLOADS_LIFEBOAT_TARGET/img/2024/a.png"
  broken: { sources: [cache, uploads], checks: [{ command: "echo the app does not start; exit 3" }] }
  half-dead: [cache, dead-cache]
`;
    });
    await mkdir(join(ws.dir, "uploads", "img", "2024"), { recursive: true });
    await writeFile(join(ws.dir, "uploads", "img", "2024", "a.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    assert.equal((await ws.cli(["init"])).code, 0);
  });
  after(async () => {
    await ws?.cleanup();
    await Promise.all([pg?.stop(), redis?.stop(), target?.stop()]);
  });

  test("redis: backup, restore into an empty server, drill with redis: checks", async () => {
    const backup = await ws.cli(["backup", "cache", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.equal(backup.json.snapshots[0].fingerprint.counts["keys:db0"], 2);
    assert.equal(backup.json.snapshots[0].fingerprint.counts["keys:db2"], 1);
    const restore = await ws.cli(["restore", "cache", "--to", target.url, "--json"]);
    assert.equal(restore.code, 0, restore.stderr);
    const restored = await target.client();
    assert.equal(await restored.sendCommand(["GET", "feature:123"]), "0.75");
    await restored.sendCommand(["SELECT", "2"]);
    assert.deepEqual(await restored.sendCommand(["LRANGE", "queue", "0", "-1"]), ["a", "b", "c"]);
    // The source itself as the target is refused; so is the now non-empty target.
    const onSource = await ws.cli(["restore", "cache", "--to", redis.url.replace("127.0.0.1", "localhost")]);
    assert.notEqual(onSource.code, 0);
    assert.match(onSource.stderr, /TARGET_IS_SOURCE/);
    const again = await ws.cli(["restore", "cache", "--to", target.url]);
    assert.match(again.stderr, /TARGET_NOT_EMPTY/);
    const drill = await ws.cli(["drill", "cache", "--json"]);
    assert.equal(drill.code, 0, drill.stdout + drill.stderr);
    assert.deepEqual(
      drill.json.checks.map((check: { kind: string; result: string }) => `${check.kind}:${check.result}`),
      ["fingerprint:passed", "not_empty:passed", "redis:passed", "redis:passed"],
    );
    assert.match(drill.json.environment, /throwaway redis-server/);
  });

  test("backup --group: one bundle of every member, from one barrier, each snapshot tagged", async () => {
    const result = await ws.cli(["backup", "--group", "platform", "--json"]);
    assert.equal(result.code, 0, result.stderr);
    const bundle = result.json.bundle;
    assert.equal(bundle.group, "platform");
    assert.deepEqual(bundle.members.map((member: { source: string }) => member.source).sort(), [
      "app-db",
      "cache",
      "uploads",
    ]);
    assert.ok(bundle.spreadSeconds >= 0 && bundle.spreadSeconds < 60, `spread ${bundle.spreadSeconds}`);
    for (const snapshot of result.json.snapshots)
      assert.deepEqual(snapshot.tags, [`bundle:${bundle.id}`, "group:platform"]);
  });

  test("drill --group: every member restored at once, the group's check sees them all, one RTO", async () => {
    const result = await ws.cli(["drill", "--group", "platform", "--json"]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const report = result.json;
    assert.equal(report.status, "passed");
    assert.equal(report.members.length, 3);
    for (const member of report.members) {
      assert.equal(member.status, "passed", member.source);
      assert.ok(member.rto > 0 && member.rto <= report.rto.achieved, `${member.source} rto ${member.rto}`);
    }
    assert.deepEqual(
      report.checks.map((check: { kind: string; result: string }) => `${check.kind}:${check.result}`),
      ["command:passed"],
    );
    assert.equal(report.rto.objective, 600);
    assert.equal(report.rto.met, true);
    const files = await readdir(join(ws.dir, "reports"));
    assert.ok(files.includes(`${report.id}-group-platform.md`), files.join(", "));
    for (const member of report.members)
      assert.ok(
        files.some((name) => name.startsWith(member.report)),
        `member report ${member.report}`,
      );
  });

  test("restore --group: every member of the bundle into its own target; one refused member stops them all", async () => {
    const fresh = await startRedis();
    try {
      const uploadsTarget = join(ws.dir, "restored-uploads");
      const members = (cache: string) => [
        "--to",
        `app-db=${pg.url("app_group_restored")}`,
        "--to",
        `cache=${cache}`,
        "--to",
        `uploads=${uploadsTarget}`,
      ];
      // The cache target already holds keys (the redis test restored into it): nothing is touched.
      const refused = await ws.cli(["restore", "--group", "platform", ...members(target.url)]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /TARGET_NOT_EMPTY/);
      assert.equal(
        await pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'app_group_restored'"),
        "0",
      );
      assert.equal(existsSync(uploadsTarget), false);
      const missing = await ws.cli(["restore", "--group", "platform", "--to", `cache=${fresh.url}`]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /no --to for app-db, uploads/);
      const dryRun = await ws.cli([
        "restore",
        "--group",
        "platform",
        ...members(fresh.url),
        "--dry-run",
        "--json",
      ]);
      assert.equal(dryRun.code, 0, dryRun.stderr);
      assert.equal(dryRun.json.members.length, 3);
      assert.equal(
        Number(await (await fresh.client()).sendCommand(["DBSIZE"])),
        0,
        "a dry run changes nothing",
      );
      const result = await ws.cli(["restore", "--group", "platform", ...members(fresh.url), "--json"]);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(result.json.members.every((member: { verified: boolean }) => member.verified));
      assert.equal(await pg.psql("SELECT count(*) FROM bookings", "app_group_restored"), "1000");
      assert.equal(await (await fresh.client()).sendCommand(["GET", "feature:123"]), "0.75");
      assert.ok(existsSync(join(uploadsTarget, "img", "2024", "a.png")));
    } finally {
      await fresh.stop();
    }
  });

  test("a failing group check fails the group drill, though every member passed", async () => {
    assert.equal((await ws.cli(["backup", "--group", "broken"])).code, 0);
    const result = await ws.cli(["drill", "--group", "broken", "--json"]);
    assert.equal(result.code, 6, result.stderr); // verification failed (docs/errors.md)
    assert.equal(result.json.status, "verification_failed");
    assert.ok(result.json.members.every((member: { status: string }) => member.status === "passed"));
    assert.equal(result.json.checks[0].result, "failed");
    assert.match(result.json.checks[0].detail, /exit 3: the app does not start/);
    assert.equal(result.json.rto.achieved, null);
  });

  test("a member that cannot be captured: the group backup fails and records no bundle", async () => {
    const result = await ws.cli(["backup", "--group", "half-dead", "--json"]);
    assert.equal(result.code, 5, result.stderr);
    assert.equal(result.json.bundle, null);
    assert.deepEqual(
      result.json.failures.map((failure: { source: string }) => failure.source),
      ["dead-cache"],
    );
    const drill = await ws.cli(["drill", "--group", "half-dead"]);
    assert.match(drill.stderr, /SNAPSHOT_NOT_FOUND.*no bundle of group half-dead/s);
  });

  test("retention keeps a bundle whole: a member snapshot the policy would remove stays", async () => {
    assert.equal((await ws.cli(["backup", "uploads"])).code, 0);
    const plan = await ws.cli(["forget", "uploads", "--keep-last", "1", "--dry-run", "--json"]);
    assert.equal(plan.code, 0, plan.stderr);
    const uploads = plan.json.sources[0];
    const byBundle = uploads.keep.filter((kept: { reasons: { rule: string }[] }) =>
      kept.reasons.some((reason) => reason.rule === "bundle"),
    );
    assert.equal(byBundle.length, 2, "the platform and broken bundles keep their uploads snapshots");
    assert.equal(uploads.remove.length, 0);
    // The bundles/ folder is part of the format: check and prune know it and leave it be.
    const check = await ws.cli(["check", "--json"]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    const prune = await ws.cli(["prune", "--json"]);
    assert.equal(prune.code, 0, prune.stderr);
    const drill = await ws.cli(["drill", "--group", "platform", "--json"]);
    assert.equal(drill.json.status, "passed", "the bundle still drills after a prune");
  });

  test("a group naming an unknown source is a config error with its path", async () => {
    const bad = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  uploads: { engine: files, path: "${dir}" }
groups:
  platform: [uploads, nowhere]
`,
    );
    try {
      const result = await bad.cli(["backup", "--group", "platform"]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /groups\.platform\.1.*no source named nowhere/);
    } finally {
      await bad.cleanup();
    }
    assert.ok(!existsSync(join(ws.dir, "nowhere")));
  });
});
