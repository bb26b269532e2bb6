// Guards prove identity (fault case 16): a target is "different" from the
// source only when something proves it. The server listens on 127.0.0.1 and
// 127.0.0.2, two addresses of one server (as a host alias in /etc/hosts
// would be), and a role that may not call pg_control_system() cannot read
// the system identifier: restoring --clean through the second address must
// be refused, never taken for another server.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { identifyTarget } from "../src/engines/postgres/identity.ts";
import { workspace } from "./support/cli.ts";
import { freePort, startCluster, type PgCluster } from "./support/pg-cluster.ts";

const twoAddresses = { settings: { listen_addresses: "'127.0.0.1,127.0.0.2'" } };

function source(url: string) {
  return { engine: "postgres" as const, url, globals: false, jobs: 1 };
}

/** The same URL through the second loopback address. */
function viaAlias(url: string): string {
  return url.replace("@127.0.0.1:", "@127.0.0.2:");
}

describe("postgres target identity", () => {
  let primary: PgCluster;
  let other: PgCluster;
  let primaryId: string;

  before(async () => {
    [primary, other] = await Promise.all([startCluster(twoAddresses), startCluster()]);
    for (const cluster of [primary, other]) {
      // Function privileges live in each database's catalog: revoke in the maintenance
      // database and in template1, which `app` is copied from.
      const revoke = "REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC";
      await cluster.psql(revoke);
      await cluster.psql(revoke, "template1");
      await cluster.psql("CREATE ROLE plain LOGIN; CREATE DATABASE app OWNER plain");
    }
    await primary.psql(
      `SET ROLE plain;
       CREATE TABLE bookings (id int PRIMARY KEY, note text);
       INSERT INTO bookings SELECT g, 'booking ' || g FROM generate_series(1, 200) g;`,
      "app",
    );
    primaryId = await primary.psql("SELECT system_identifier FROM pg_control_system()");
  });

  after(async () => {
    await Promise.all([primary?.stop(), other?.stop()]);
  });

  it("decides by system identifier and database name when it can read them", async () => {
    const app = source(primary.url("app"));
    assert.equal((await identifyTarget(app, primary.url("app"))).verdict, "same");
    assert.equal((await identifyTarget(app, viaAlias(primary.url("app")))).verdict, "same");
    const renamed = await identifyTarget(app, primary.url("app_restored"));
    assert.deepEqual(renamed.verdict, "different");
    assert.match(renamed.reason, /app_restored is not the source database app/);
    const elsewhere = await identifyTarget(app, other.url("app"));
    assert.equal(elsewhere.verdict, "different");
    assert.match(elsewhere.reason, /another cluster \(system identifier/);
  });

  it("sees another address of the same server as the source when the identifier is unreadable", async () => {
    const app = source(primary.url("app", "plain"));
    // The role cannot read the identifier: before, the differing host names alone made this "another server".
    assert.equal(
      await primary.psql("SELECT has_function_privilege('plain', 'pg_control_system()', 'EXECUTE')"),
      "f",
    );
    const identity = await identifyTarget(app, viaAlias(primary.url("app", "plain")));
    assert.equal(identity.verdict, "same", identity.reason);
    assert.match(identity.reason, /same postmaster/);
  });

  it("says unknown, never different, when nothing tells the two apart", async () => {
    const revoke = "REVOKE EXECUTE ON FUNCTION pg_postmaster_start_time() FROM PUBLIC";
    await Promise.all([primary.psql(revoke), primary.psql(revoke, "app")]);
    try {
      const app = source(primary.url("app", "plain"));
      const identity = await identifyTarget(app, viaAlias(primary.url("app", "plain")));
      assert.equal(identity.verdict, "unknown", identity.reason);
      assert.match(identity.reason, /system identifier is not readable/);
      assert.match(identity.reason, /probably the same server/);
    } finally {
      const grant = "GRANT EXECUTE ON FUNCTION pg_postmaster_start_time() TO PUBLIC";
      await Promise.all([primary.psql(grant), primary.psql(grant, "app")]);
    }
  });

  it("tells another running server apart without identifiers (its own port)", async () => {
    const identity = await identifyTarget(source(primary.url("app", "plain")), other.url("app", "plain"));
    assert.equal(identity.verdict, "different", identity.reason);
    assert.match(identity.reason, /another running server/);
  });

  it("falls back on the identifier recorded at backup when the source cannot be asked", async () => {
    const gone = source(`postgres://postgres@127.0.0.1:${await freePort()}/app`);
    const target = primary.url("app");
    const unknown = await identifyTarget(gone, target);
    assert.equal(unknown.verdict, "unknown", unknown.reason);
    assert.match(unknown.reason, /the source could not be asked/);
    const same = await identifyTarget(gone, target, {}, { system_identifier: primaryId });
    assert.equal(same.verdict, "same", same.reason);
    const different = await identifyTarget(gone, target, {}, { system_identifier: "7000000000000000001" });
    assert.equal(different.verdict, "different", different.reason);
    assert.match(different.reason, /not the one the snapshot was taken from/);
    // A target whose identifier is unreadable proves nothing against the recorded one.
    const unreadable = await identifyTarget(
      gone,
      primary.url("app", "plain"),
      {},
      { system_identifier: "1" },
    );
    assert.equal(unreadable.verdict, "unknown", unreadable.reason);
  });

  it("refuses `restore --clean` through a host alias of the source and leaves the source as it was", async () => {
    const url = primary.url("app", "plain");
    const ws = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  app-db: { engine: postgres, url: "${url}" }
`,
    );
    try {
      assert.equal((await ws.cli(["init"])).code, 0);
      const backup = await ws.cli(["backup", "app-db", "--json"]);
      assert.equal(backup.code, 0, backup.stderr);
      // The role cannot read the identifier; capture records that instead of failing on it.
      const listed = await ws.cli(["snapshots", "--json"]);
      assert.equal(listed.json.snapshots[0].engineMeta.system_identifier, null);
      const oid = await primary.psql("SELECT oid FROM pg_database WHERE datname = 'app'");
      await primary.psql("INSERT INTO bookings VALUES (201, 'written after the backup')", "app");

      const restore = await ws.cli(["restore", "app-db", "--to", viaAlias(url), "--clean", "--json"]);
      assert.equal(restore.code, 5, restore.stderr);
      assert.ok(
        ["TARGET_IS_SOURCE", "TARGET_IDENTITY_UNKNOWN"].includes(restore.json.error.code),
        restore.json.error.code,
      );
      // Not dropped and replaced: the same database, with the row written after the backup.
      assert.equal(await primary.psql("SELECT oid FROM pg_database WHERE datname = 'app'"), oid);
      assert.equal(await primary.psql("SELECT count(*) FROM bookings", "app"), "201");
    } finally {
      await ws.cleanup();
    }
  });
});
