// Smoke test of test/support/pg-replica.ts: the standby streams from the
// primary, survives the primary's crash by promotion and then takes writes;
// a synchronous pair has each committed row on the standby at once.

import assert from "node:assert/strict";
import { access } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { startPrimaryWithReplica, type PrimaryWithReplica } from "./support/pg-replica.ts";

/** Poll until `read` returns `expected` (replication is asynchronous). */
async function eventually(read: () => Promise<string>, expected: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (last === expected) return;
    } catch (error) {
      last = String(error); // e.g. the table itself has not been replayed yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(last, expected);
}

describe("primary with an asynchronous replica", () => {
  let pair: PrimaryWithReplica;

  before(async () => {
    pair = await startPrimaryWithReplica();
  });
  after(async () => {
    await pair?.stop();
    await pair?.stop(); // twice is harmless
  });

  it("streams rows, then promotes the replica after the primary is killed", async () => {
    assert.match(pair.killPrimaryCommand, /^runuser -u postgres -- \S+\/pg_ctl -D \S+ -m immediate stop$/);
    assert.match(pair.promoteCommand, /^runuser -u postgres -- \S+\/pg_ctl -D \S+ promote$/);
    await access(pair.primaryPidFile);

    await pair.primary.psql("create table marks (id int primary key); insert into marks values (1)");
    await eventually(() => pair.replica.psql("select count(*) from marks"), "1");
    assert.equal(await pair.replica.psql("select pg_is_in_recovery()"), "t");
    await assert.rejects(pair.replica.psql("insert into marks values (2)"), /read-only transaction/);

    await pair.killPrimary();
    await assert.rejects(access(pair.primaryPidFile));
    await assert.rejects(pair.primary.psql("select 1"));

    await pair.promote();
    await pair.replica.psql("insert into marks values (2)");
    assert.equal(await pair.replica.psql("select string_agg(id::text, ',' order by id) from marks"), "1,2");
  });
});

describe("primary with a synchronous replica", () => {
  let pair: PrimaryWithReplica;

  before(async () => {
    pair = await startPrimaryWithReplica({ synchronous: true });
  });
  after(async () => {
    await pair?.stop();
  });

  it("has every committed row on the replica at once", async () => {
    assert.equal(await pair.primary.psql("show synchronous_commit"), "remote_apply");
    await pair.primary.psql("create table marks (id int primary key)");
    for (let id = 1; id <= 5; id++) {
      await pair.primary.psql(`insert into marks values (${id})`);
      assert.equal(await pair.replica.psql(`select count(*) from marks where id = ${id}`), "1");
    }
    assert.equal(
      await pair.primary.psql("select sync_state from pg_stat_replication"),
      "sync",
      "the replica is the synchronous standby",
    );

    // The promoted replica must not wait for a standby of its own.
    await pair.killPrimary();
    await pair.promote();
    await pair.replica.psql("insert into marks values (6)");
    assert.equal(await pair.replica.psql("select count(*) from marks"), "6");
  });
});
