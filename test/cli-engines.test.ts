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
    const restore = await ws.cli(["restore", "notes", "--to", target, "--force", "--json"]);
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
