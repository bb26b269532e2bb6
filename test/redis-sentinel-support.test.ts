// Smoke test of test/support/redis-sentinel.ts: a key written on the master
// reaches the replica; after `killMasterCommand` the sentinels promote the
// replica within 20 s and it takes writes.

import assert from "node:assert/strict";
import { exec } from "node:child_process";
import { access } from "node:fs/promises";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { createClient } from "@redis/client";
import { startSentinelSet, type SentinelSet } from "./support/redis-sentinel.ts";

function connect(url: string) {
  const client = createClient({ RESP: 2, url, socket: { reconnectStrategy: false } });
  client.on("error", () => undefined);
  return client.connect();
}

async function eventually<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch {
      // not there yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`condition not met within ${timeoutMs} ms (last value: ${JSON.stringify(last)})`);
}

describe("redis master, replica and three sentinels", () => {
  let set: SentinelSet;
  const clients: { destroy(): void }[] = [];

  before(async () => {
    set = await startSentinelSet();
  });
  after(async () => {
    for (const client of clients) client.destroy();
    await set?.stop();
    await set?.stop(); // twice is harmless
  });

  it("replicates, then fails over to the replica when the master is killed", async () => {
    assert.equal(set.masterName, "lifeboat");
    assert.equal(set.sentinels.length, 3);
    assert.deepEqual(await set.currentMaster(), { host: "127.0.0.1", port: set.master.port });
    await access(set.masterPidFile);

    const master = await connect(set.master.url);
    const replica = await connect(set.replica.url);
    clients.push(master, replica);
    await master.set("drill:marker", "before");
    await eventually(
      () => replica.get("drill:marker"),
      (value) => value === "before",
      5_000,
    );
    await assert.rejects(replica.set("drill:other", "x"), /READONLY/);

    await promisify(exec)(set.killMasterCommand);
    const started = Date.now();
    await eventually(
      () => set.currentMaster(),
      (addr) => addr.port === set.replica.port,
      20_000,
    );
    assert.ok(Date.now() - started < 20_000);

    // Promotion ends with CLIENT KILL TYPE normal, so talk to the new master on a new connection.
    const promoted = await connect(set.replica.url);
    clients.push(promoted);
    assert.equal(((await promoted.sendCommand(["ROLE"])) as string[])[0], "master");
    assert.equal(await promoted.get("drill:marker"), "before");
    await promoted.set("drill:marker", "after");
    assert.equal(await promoted.get("drill:marker"), "after");
  });
});
