// The mariadb, nats and command engines through the whole CLI pipeline, as a
// user runs them: init, backup, restore (verified against the fingerprint),
// drill into a scratch target, status. The engines' own suites cover their
// details and faults; this proves they plug into everything unchanged.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { workspace } from "./support/cli.ts";
import { startMariadbServer, type TestMariadb } from "./support/mariadb-server.ts";
import { startNatsServer, type NatsTestServer } from "./support/nats-server.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;

function sqlite(path: string, sql: string): string {
  const result = spawnSync("/usr/bin/sqlite3", [path, sql], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim();
}

describe("lifeboat with mariadb, nats and command sources", () => {
  let maria: TestMariadb;
  let nats: NatsTestServer;
  let natsTarget: NatsTestServer;
  let ws: Workspace;

  before(async () => {
    [maria, nats, natsTarget] = await Promise.all([
      startMariadbServer(),
      startNatsServer(),
      startNatsServer(),
    ]);
    await maria.sql("CREATE DATABASE shop");
    await maria.sql(
      "CREATE TABLE orders (id INT PRIMARY KEY AUTO_INCREMENT, item VARCHAR(40), qty INT); " +
        "INSERT INTO orders (item, qty) SELECT CONCAT('item-', seq), seq % 7 FROM seq_1_to_500; " +
        "CREATE VIEW busy AS SELECT item FROM orders WHERE qty > 3",
      [],
      "shop",
    );
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
    const js = jetstream(nc);
    for (let i = 0; i < 25; i++) await js.publish(`orders.${i % 3}`, `order ${i}`);
    await nc.close();
    ws = await workspace((dir) => {
      return `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
reports: { dir: "${dir}/reports" }
sources:
  shop:
    engine: mariadb
    url: "${maria.url("shop")}"
    objectives: { rto: 10m, rpo: 1d }
    drill:
      checks:
        - sql: "select count(*) = 500 from orders"
  events:
    engine: nats
    url: "${nats.url}"
    streams: [ORDERS]
  notes:
    engine: command
    capture: "sqlite3 ${dir}/notes.db .dump"
    restore: "sqlite3 \\"$LIFEBOAT_TARGET\\""
    fingerprint: >-
      db="\${LIFEBOAT_TARGET:-${dir}/notes.db}";
      printf '{"rows:notes": %s}' "$(sqlite3 "$db" 'select count(*) from notes')"
    target: "${dir}/notes.db"
    scratch:
      create: "mktemp -u ${dir}/scratch-XXXXXX.db"
      destroy: 'rm -f "$LIFEBOAT_TARGET"'
`;
    });
    sqlite(
      join(ws.dir, "notes.db"),
      "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('a'), ('b'), ('c');",
    );
    assert.equal((await ws.cli(["init"])).code, 0);
    const backup = await ws.cli(["backup", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.deepEqual(backup.json.snapshots.map((s: { source: string }) => s.source).sort(), [
      "events",
      "notes",
      "shop",
    ]);
  });
  after(async () => {
    await ws?.cleanup();
    await Promise.all([maria?.stop(), nats?.stop(), natsTarget?.stop()]);
  });

  test("mariadb: restore into a new database and drill on a throwaway mariadbd", async () => {
    const restore = await ws.cli(["restore", "shop", "--to", maria.url("shop_restored"), "--json"]);
    assert.equal(restore.code, 0, restore.stderr);
    const [original] = await maria.sql<{ Checksum: number }>("CHECKSUM TABLE shop.orders");
    const [copy] = await maria.sql<{ Checksum: number }>("CHECKSUM TABLE shop_restored.orders");
    assert.equal(copy!.Checksum, original!.Checksum);
    const [view] = await maria.sql<{ n: number }>("SELECT count(*) AS n FROM shop_restored.busy");
    assert.ok(view!.n > 0);
    const onSource = await ws.cli([
      "restore",
      "shop",
      "--to",
      maria.url("shop").replace("127.0.0.1", "localhost"),
    ]);
    assert.match(onSource.stderr, /TARGET_IS_SOURCE/);
    const drill = await ws.cli(["drill", "shop", "--json"]);
    assert.equal(drill.code, 0, drill.stdout + drill.stderr);
    assert.deepEqual(
      drill.json.checks.map((check: { kind: string; result: string }) => `${check.kind}:${check.result}`),
      ["fingerprint:passed", "not_empty:passed", "sql:passed"],
    );
  });

  test("mariadb: --clean keeps the old tables in <db>_pre_restore_<stamp>; --undo moves them back", async () => {
    await maria.sql("CREATE DATABASE shop_staging");
    await maria.sql(
      "CREATE TABLE hand_made (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO hand_made SELECT seq, MD5(seq) FROM seq_1_to_200",
      [],
      "shop_staging",
    );
    const checksum = async (table: string) =>
      (await maria.sql<{ Checksum: number }>(`CHECKSUM TABLE ${table}`))[0]!.Checksum;
    const original = await checksum("shop_staging.hand_made");
    const restore = await ws.cli(["restore", "shop", "--to", maria.url("shop_staging"), "--clean", "--json"]);
    assert.equal(restore.code, 0, restore.stderr);
    const kept = restore.json.preserved[0];
    assert.match(kept.location, /^shop_staging_pre_restore_\d{8}_\d{6}$/);
    assert.match(kept.note, /views, routines, triggers and events were dropped/);
    assert.equal(await checksum(`${kept.location}.hand_made`), original);
    assert.equal(await checksum("shop_staging.orders"), await checksum("shop.orders"));

    const undo = await ws.cli(["restore", "--undo", maria.url("shop_staging"), "--json"]);
    assert.equal(undo.code, 0, undo.stderr);
    assert.equal(await checksum("shop_staging.hand_made"), original);
    const tables = await maria.sql<{ n: number }>(
      "SELECT count(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop_staging'",
    );
    assert.equal(Number(tables[0]!.n), 1, "only the old table is back in the target");
    assert.equal(await checksum(`${undo.json.keptAside.location}.orders`), await checksum("shop.orders"));
    const gone = await maria.sql("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", [
      kept.location,
    ]);
    assert.deepEqual(gone, []);
  });

  test("nats: restore into another server keeps every message; a drill passes", async () => {
    const restore = await ws.cli(["restore", "events", "--to", natsTarget.url, "--json"]);
    assert.equal(restore.code, 0, restore.stderr);
    const nc = await connect({ servers: natsTarget.url });
    try {
      const info = await (await jetstreamManager(nc)).streams.info("ORDERS");
      assert.equal(info.state.messages, 25);
    } finally {
      await nc.close();
    }
    const again = await ws.cli(["restore", "events", "--to", natsTarget.url]);
    assert.match(again.stderr, /TARGET_NOT_EMPTY/);
    // --clean on streams that cannot be renamed: the target is kept as a snapshot first, and --undo restores it.
    const grow = await connect({ servers: natsTarget.url });
    for (let i = 0; i < 5; i++) await jetstream(grow).publish("orders.9", `later ${i}`);
    await grow.close();
    const clean = await ws.cli(["restore", "events", "--to", natsTarget.url, "--clean", "--json"]);
    assert.equal(clean.code, 0, clean.stderr);
    assert.equal(clean.json.preserved[0].kind, "snapshot");
    const messages = async () => {
      const nc = await connect({ servers: natsTarget.url });
      try {
        return (await (await jetstreamManager(nc)).streams.info("ORDERS")).state.messages;
      } finally {
        await nc.close();
      }
    };
    assert.equal(await messages(), 25);
    const undo = await ws.cli(["restore", "--undo", natsTarget.url, "--json"]);
    assert.equal(undo.code, 0, undo.stderr);
    assert.equal(await messages(), 30);
    // A server with other streams only: they are left alone and not compared.
    const busy = await startNatsServer();
    try {
      const other = await connect({ servers: busy.url });
      await (await jetstreamManager(other)).streams.add({ name: "UNRELATED", subjects: ["unrelated.>"] });
      await jetstream(other).publish("unrelated.x", "keep me");
      await other.close();
      const beside = await ws.cli(["restore", "events", "--to", busy.url, "--json"]);
      assert.equal(beside.code, 0, beside.stderr);
      const check = await connect({ servers: busy.url });
      const jsm = await jetstreamManager(check);
      assert.equal((await jsm.streams.info("UNRELATED")).state.messages, 1);
      assert.equal((await jsm.streams.info("ORDERS")).state.messages, 25);
      await check.close();
    } finally {
      await busy.stop();
    }
    const drill = await ws.cli(["drill", "events", "--json"]);
    assert.equal(drill.code, 0, drill.stdout + drill.stderr);
    assert.equal(drill.json.status, "passed");
  });

  test("command: restore runs the user's command on the verified artifact; a drill passes on a scratch path", async () => {
    const target = join(ws.dir, "restored-notes.db");
    // Without a probe command the target cannot be checked, and nothing can keep it: --force alone is refused.
    const kept = await ws.cli(["restore", "notes", "--to", target, "--force", "--json"]);
    assert.equal(kept.json.error.code, "PRESERVE_UNSUPPORTED");
    const restore = await ws.cli([
      "restore",
      "notes",
      "--to",
      target,
      "--force",
      "--no-preserve",
      "--confirm",
      "restored-notes.db",
      "--json",
    ]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(sqlite(target, "select group_concat(body) from notes"), "a,b,c");
    const drill = await ws.cli(["drill", "notes", "--json"]);
    assert.equal(drill.code, 0, drill.stdout + drill.stderr);
    assert.equal(drill.json.status, "passed");
  });

  test("status covers every engine's source", async () => {
    const status = await ws.cli(["status", "--json"]);
    const verdicts = Object.fromEntries(
      status.json.sources.map((source: { source: string; verdict: string }) => [
        source.source,
        source.verdict,
      ]),
    );
    assert.deepEqual(verdicts, { shop: "ok", events: "ok", notes: "ok" }, status.stdout);
  });
});
