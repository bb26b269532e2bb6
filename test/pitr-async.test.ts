// Asynchronous archiving (wal_push.async): the background pusher archives
// what PostgreSQL has marked ready, archive_command collects its word, and a
// storage outage makes archiving fail loudly and catch up afterwards with no
// segment lost.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmod, mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { workspace } from "./support/cli.ts";
import { psqlAt, startPitrSetup, stopRestored, type PitrSetup } from "./support/pitr.ts";
import { freePort } from "./support/pg-cluster.ts";

describe("asynchronous WAL archiving", () => {
  let setup: PitrSetup;
  let spool = "";
  const restored: string[] = [];

  before(async () => {
    setup = await startPitrSetup({
      appDb: (dir) => `    wal_push: { async: true, spool_dir: "${dir}/spool", parallel: 3 }
`,
    });
    spool = join(setup.ws.dir, "spool");
    await mkdir(spool);
    spawnSync("chown", ["postgres", spool]);
  });

  after(async () => {
    for (const dir of restored) stopRestored(dir);
    await setup?.stop();
  });

  it("archives every segment through the background pusher, and a restore reads them all", async () => {
    const backup = await setup.ws.cli(["backup", "app-db"]);
    assert.equal(backup.code, 0, backup.stderr);
    for (let round = 0; round < 6; round++) {
      await setup.marker(`async-${round}`);
      await setup.switchAndWait();
    }
    assert.ok((await readdir(join(spool, "app-db"))).includes("pusher.log"));
    const check = await setup.ws.cli(["check", "--json"]);
    assert.equal(check.code, 0, check.stdout);
    const dir = join(setup.ws.dir, "restore-async");
    restored.push(dir);
    const port = await freePort();
    const restore = await setup.ws.cli([
      "restore",
      "app-db",
      "--to",
      dir,
      "--latest",
      "--start",
      "--port",
      String(port),
    ]);
    assert.equal(restore.code, 0, restore.stderr);
    const markers = await setup.markersIn(psqlAt(port));
    assert.deepEqual(
      markers.filter((label) => label.startsWith("async-")),
      [0, 1, 2, 3, 4, 5].map((n) => `async-${n}`),
    );
  });

  it("fails archive_command while storage refuses writes, then catches up without a gap", async () => {
    const systemId = await setup.cluster.psql("SELECT system_identifier FROM pg_control_system()");
    const folder = join(setup.ws.dir, "repo", "wal", "app-db", systemId);
    await chmod(folder, 0o500);
    try {
      await setup.marker("async-outage");
      await setup.cluster.psql("SELECT pg_switch_wal()");
      const deadline = Date.now() + 60_000;
      while (Number(await setup.cluster.psql("SELECT failed_count FROM pg_stat_archiver")) === 0) {
        assert.ok(Date.now() < deadline, "archive_command never failed during the outage");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const log = await readFile(join(spool, "app-db", "pusher.log"), "utf8");
      assert.match(log, /pushing .* failed/);
    } finally {
      await chmod(folder, 0o755);
    }
    await setup.marker("async-after");
    await setup.switchAndWait();
    const check = await setup.ws.cli(["check", "--json"]);
    assert.equal(check.code, 0, check.stdout);
  });

  it("refuses async without a spool directory, naming the field", async () => {
    const ws = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  db: { engine: postgres, url: "postgres://x@127.0.0.1/x", mode: physical, wal_push: { async: true } }
`,
    );
    try {
      await writeFile(join(ws.dir, "x"), "");
      const result = await ws.cli(["wal-push", "db", join(ws.dir, "x")]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /sources\.db\.wal_push\.spool_dir/);
    } finally {
      await ws.cleanup();
    }
  });
});
