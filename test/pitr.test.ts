// Point-in-time recovery end to end, through the real CLI: a throwaway
// cluster archives with `lifeboat wal-push` as its archive_command, base
// backups go through pg_basebackup, and restores start real servers that
// fetch WAL from the repository. Every target kind is proved by marker rows:
// the ones before the target are there, the ones after it are not.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { access, chmod, copyFile, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseLsn } from "../src/domain/wal.ts";
import { parsePostgresUrl } from "../src/engines/postgres/connection.ts";
import { readDuringArchiveWait } from "../src/engines/postgres/physical/archive-wait.ts";
import { silentLogger } from "../src/runtime/logger.ts";
import { cliPath } from "./support/cli.ts";
import { freePort } from "./support/pg-cluster.ts";
import { psqlAt, shellWord, startPitrSetup, stopRestored, type PitrSetup } from "./support/pitr.ts";

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe("point-in-time recovery", () => {
  let setup: PitrSetup;
  let backupId: string;
  let backupStderr = "";
  const targets: { time?: string; lsn?: string; xid?: string } = {};
  const restored: string[] = [];

  before(async () => {
    setup = await startPitrSetup({
      extraSources: `  scratch-db:
    engine: postgres
    url: postgres://postgres@127.0.0.1:1/postgres
    mode: physical
`,
    });
    await setup.marker("before-backup");
    // --verbose: the debug lines say when the fingerprint was read (asserted below).
    const backup = await setup.ws.cli(["--verbose", "backup", "app-db", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    backupId = backup.json.snapshots[0].id;
    backupStderr = backup.stderr;

    const { cluster } = setup;
    await setup.marker("m1");
    targets.time = await cluster.psql("SELECT clock_timestamp()");
    await new Promise((resolve) => setTimeout(resolve, 20));
    await setup.marker("m2");
    targets.lsn = await cluster.psql("SELECT pg_current_wal_insert_lsn()");
    await setup.marker("m3");
    await cluster.psql("SELECT pg_create_restore_point('after-m3')");
    targets.xid = await cluster.psql(
      "BEGIN; INSERT INTO lifeboat_test_markers (label) VALUES ('m4'); SELECT txid_current(); COMMIT;",
    );
    await setup.marker("m5");
    await setup.switchAndWait();
  });

  after(async () => {
    for (const dir of restored) stopRestored(dir);
    await setup?.stop();
  });

  async function restoreAndRead(name: string, flags: readonly string[]) {
    const dir = join(setup.ws.dir, `restore-${name}`);
    restored.push(dir);
    const port = await freePort();
    const result = await setup.ws.cli([
      "restore",
      "app-db",
      "--to",
      dir,
      ...flags,
      "--start",
      "--port",
      String(port),
      "--json",
    ]);
    assert.equal(result.code, 0, `${result.stderr}\n${result.stdout}`);
    const markers = await setup.markersIn(psqlAt(port));
    return { result, markers, dir, port };
  }

  it("records the base backup's WAL position, timeline, cluster and server", async () => {
    const list = await setup.ws.cli(["snapshots", "app-db", "--json"]);
    const meta = list.json.snapshots[0].engineMeta;
    assert.equal(meta.format, "physical");
    assert.match(meta.start_lsn, /^[0-9A-F]+\/[0-9A-F]+$/);
    assert.match(meta.stop_lsn, /^[0-9A-F]+\/[0-9A-F]+$/);
    assert.equal(meta.timeline, 1);
    assert.match(meta.system_identifier, /^\d+$/);
    assert.equal(meta.server_version_num >= 150000, true);
    assert.ok(Date.parse(meta.stop_time) >= Date.parse(meta.start_time));
    assert.equal(list.json.snapshots[0].fingerprint.counts["rows:public.lifeboat_test_markers"], 1);
  });

  it("reads the fingerprint while the server waits for the archiver, after the backup's end", async () => {
    assert.match(backupStderr, /the server waits for the archiver: reading the fingerprint meanwhile/);
    const list = await setup.ws.cli(["snapshots", "app-db", "--json"]);
    const meta = list.json.snapshots.find((snapshot: { id: string }) => snapshot.id === backupId).engineMeta;
    assert.ok(
      parseLsn(meta.fingerprint_lsn) >= parseLsn(meta.stop_lsn),
      `fingerprint at ${meta.fingerprint_lsn}, backup stopped at ${meta.stop_lsn}`,
    );
  });

  it("watches for the archive wait without ever failing the backup: no server, or no such backup, is nothing started", async () => {
    let reads = 0;
    const read = async () => ++reads;
    const unreachable = readDuringArchiveWait(
      parsePostgresUrl("postgres://postgres@127.0.0.1:1/postgres", "source"),
      "lifeboat-none",
      read,
      silentLogger,
    );
    unreachable.stop();
    assert.equal(await unreachable.result(), undefined);
    const idle = readDuringArchiveWait(
      parsePostgresUrl(setup.cluster.url(), "source"),
      "lifeboat-no-such-backup",
      read,
      silentLogger,
    );
    await new Promise((resolve) => setTimeout(resolve, 350)); // a few polls
    idle.stop();
    assert.equal(await idle.result(), undefined);
    assert.equal(reads, 0);
  });

  it("restores to a time: the marker before it is there, the one after it is not", async () => {
    const { markers, result } = await restoreAndRead("time", ["--target-time", targets.time!]);
    assert.deepEqual(markers, ["before-backup", "m1"]);
    assert.equal(result.json.pointInTime, true);
    assert.equal(result.json.snapshot, backupId);
    assert.equal(result.json.reachedTimeline, 2, "promoted onto a new timeline");
  });

  it("restores to an LSN", async () => {
    const { markers } = await restoreAndRead("lsn", ["--target-lsn", targets.lsn!]);
    assert.deepEqual(markers, ["before-backup", "m1", "m2"]);
  });

  it("restores to a named restore point", async () => {
    const { markers } = await restoreAndRead("name", ["--target-name", "after-m3"]);
    assert.deepEqual(markers, ["before-backup", "m1", "m2", "m3"]);
  });

  it("restores to a transaction id, including that transaction", async () => {
    const { markers } = await restoreAndRead("xid", ["--target-xid", targets.xid!]);
    assert.deepEqual(markers, ["before-backup", "m1", "m2", "m3", "m4"]);
  });

  it("restores only to the end of the base backup with --immediate", async () => {
    const { markers } = await restoreAndRead("immediate", ["--immediate"]);
    assert.deepEqual(markers, ["before-backup"]);
  });

  it("restores every archived record with --latest, and the copy never archives into the source's archive", async () => {
    const { markers, dir } = await restoreAndRead("latest", ["--latest"]);
    assert.deepEqual(markers, ["before-backup", "m1", "m2", "m3", "m4", "m5"]);
    const auto = await readFile(join(dir, "postgresql.auto.conf"), "utf8");
    assert.match(auto, /archive_mode = 'off'/);
    // The promoted copy is on timeline 2: nothing of it reached the archive.
    const fetched = await setup.ws.cli(["wal-fetch", "app-db", "00000002.history", join(setup.ws.dir, "h")]);
    assert.equal(fetched.code, 1, "00000002.history must not be archived");
  });

  it("refuses a target past the archive before the data directory is touched, saying what is reachable", async () => {
    const dir = join(setup.ws.dir, "restore-future");
    const future = new Date(Date.now() + 3600_000).toISOString();
    const result = await setup.ws.cli(["restore", "app-db", "--to", dir, "--target-time", future, "--json"]);
    assert.equal(result.code, 5, result.stderr);
    assert.equal(result.json.error.code, "PITR_TARGET_UNREACHABLE");
    assert.match(result.json.error.message, /past the newest archived WAL.*reachable: from .* to about /s);
    assert.equal(await exists(dir), false);
  });

  it("refuses a target before the oldest base backup, naming it", async () => {
    const dir = join(setup.ws.dir, "restore-past");
    const result = await setup.ws.cli([
      "restore",
      "app-db",
      "--to",
      dir,
      "--target-time",
      "2001-01-01 00:00:00+00",
      "--json",
    ]);
    assert.equal(result.code, 5);
    assert.match(result.json.error.message, /before the oldest base backup became consistent/);
    assert.match(result.json.error.message, new RegExp(`snapshot ${backupId.slice(0, 8)}`));
    assert.equal(await exists(dir), false);
  });

  it("refuses a time without a zone, two targets at once, and logical-restore flags", async () => {
    const dir = join(setup.ws.dir, "restore-bad");
    const noZone = await setup.ws.cli([
      "restore",
      "app-db",
      "--to",
      dir,
      "--target-time",
      "2026-01-25 14:30:00",
    ]);
    assert.equal(noZone.code, 2);
    assert.match(noZone.stderr, /time zone/);
    const two = await setup.ws.cli(["restore", "app-db", "--to", dir, "--immediate", "--latest"]);
    assert.equal(two.code, 2);
    const logicalFlag = await setup.ws.cli(["restore", "app-db", "--to", dir, "--latest", "--clean"]);
    assert.equal(logicalFlag.code, 2);
    assert.match(logicalFlag.stderr, /--clean/);
    assert.equal(await exists(dir), false);
  });

  it("never touches a running cluster's directory, even with --force, and refuses a non-empty one without it", async () => {
    const running = await setup.ws.cli([
      "restore",
      "app-db",
      "--to",
      setup.cluster.dataDir,
      "--force",
      "--json",
    ]);
    assert.equal(running.code, 5);
    assert.equal(running.json.error.code, "TARGET_NOT_EMPTY");
    assert.match(running.json.error.message, /running PostgreSQL server/);
    const occupied = join(setup.ws.dir, "occupied");
    await mkdir(occupied);
    await writeFile(join(occupied, "precious"), "data");
    const refused = await setup.ws.cli(["restore", "app-db", "--to", occupied, "--json"]);
    assert.equal(refused.code, 5);
    assert.equal(await readFile(join(occupied, "precious"), "utf8"), "data");

    // --force keeps the directory it replaces beside it (issue 16); --undo swaps it back.
    const forced = await setup.ws.cli([
      "restore",
      "app-db",
      "--to",
      occupied,
      "--immediate",
      "--force",
      "--json",
    ]);
    assert.equal(forced.code, 0, forced.stderr);
    const kept = forced.json.preserved[0].location as string;
    assert.match(kept, /\/occupied\.pre_restore_\d{8}_\d{6}$/);
    assert.equal(await readFile(join(kept, "precious"), "utf8"), "data");
    assert.ok(await exists(join(occupied, "PG_VERSION")));
    const undo = await setup.ws.cli(["restore", "--undo", occupied, "--json"]);
    assert.equal(undo.code, 0, undo.stderr);
    assert.equal(await readFile(join(occupied, "precious"), "utf8"), "data");
    assert.ok(await exists(join(undo.json.keptAside.location, "PG_VERSION")));
  });

  it("accepts the same WAL bytes twice and refuses other bytes under an archived name", async () => {
    const list = await setup.ws.cli(["snapshots", "app-db", "--json"]);
    const segment = list.json.snapshots[0].engineMeta.start_segment as string;
    const copy = join(setup.ws.dir, segment);
    const fetched = await setup.ws.cli(["wal-fetch", "app-db", segment, copy]);
    assert.equal(fetched.code, 0, fetched.stderr);
    const original = await readFile(copy);

    const again = await setup.ws.cli(["wal-push", "app-db", copy, "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json.outcome, "duplicate");

    const changed = Buffer.from(original);
    changed[100_000] = changed[100_000]! ^ 0xff;
    await writeFile(copy, changed);
    const conflict = await setup.ws.cli(["wal-push", "app-db", copy, "--json"]);
    assert.equal(conflict.code, 4);
    assert.equal(conflict.json.error.code, "WAL_CONFLICT");
    assert.match(
      conflict.json.error.message,
      new RegExp(`${segment} is already archived with different contents`),
    );

    await rm(copy);
    assert.equal((await setup.ws.cli(["wal-fetch", "app-db", segment, copy])).code, 0);
    assert.deepEqual(await readFile(copy), original, "the archived segment is unchanged");
  });

  it("a second base backup of an unchanged cluster stores little new data", async () => {
    // Enough relation data that the few chunks a checkpoint touches (pg_control, catalog pages)
    // are small beside it, as in any real cluster. The table is vacuumed and frozen first: an
    // autovacuum landing between the two backups would rewrite every page's hint bits, a real
    // change the second backup rightly stores (CI once saw 5.04% that way).
    await setup.cluster.psql(
      "CREATE TABLE bulk AS SELECT g, repeat(md5(g::text), 20) AS filler FROM generate_series(1, 100000) g",
    );
    await setup.cluster.psql("VACUUM (FREEZE, ANALYZE) bulk");
    await setup.cluster.psql("CHECKPOINT");
    const first = await setup.ws.cli(["backup", "app-db", "--json"]);
    const second = await setup.ws.cli(["backup", "app-db", "--json"]);
    assert.equal(second.code, 0, second.stderr);
    const stats = second.json.snapshots[0];
    assert.ok(first.json.snapshots[0].bytesRead > 60_000_000);
    assert.ok(
      stats.bytesStored <= 0.05 * stats.bytesRead,
      `second base backup stored ${stats.bytesStored} of ${stats.bytesRead} bytes`,
    );
  });

  it("survives wal-push killed at any point: nothing half-written, the retry succeeds", async () => {
    const sourceSegment = join(
      setup.cluster.dataDir,
      "pg_wal",
      await setup.cluster.psql("SELECT pg_walfile_name(pg_current_wal_lsn())"),
    );
    const name = "0000000100000000000000A0";
    const file = join(setup.ws.dir, name);
    await copyFile(sourceSegment, file);
    const bytes = await readFile(file);
    const fetchedPath = join(setup.ws.dir, "fetched");
    for (const delay of [30, 120, 250, 400, 600]) {
      const child = spawn(
        process.execPath,
        [cliPath, "-c", setup.ws.configFile, "wal-push", "scratch-db", file],
        {
          env: { ...process.env, ...setup.ws.env },
          stdio: "ignore",
        },
      );
      const closed = new Promise((resolve) => child.on("close", resolve));
      await new Promise((resolve) => setTimeout(resolve, delay));
      child.kill("SIGKILL");
      await closed;
      const fetched = await setup.ws.cli([
        "wal-fetch",
        "scratch-db",
        name,
        fetchedPath,
        "--system-id",
        await systemId(),
      ]);
      if (fetched.code === 0)
        assert.deepEqual(await readFile(fetchedPath), bytes, `after a kill at ${delay} ms`);
      else assert.equal(fetched.code, 1, `after a kill at ${delay} ms: ${fetched.stderr}`);
    }
    const retry = await setup.ws.cli(["wal-push", "scratch-db", file]);
    assert.equal(retry.code, 0, retry.stderr);
    assert.equal(
      (await setup.ws.cli(["wal-fetch", "scratch-db", name, fetchedPath, "--system-id", await systemId()]))
        .code,
      0,
    );
    assert.deepEqual(await readFile(fetchedPath), bytes);
    const folder = join(setup.ws.dir, "repo", "wal", "scratch-db", await systemId());
    assert.deepEqual(
      (await readdir(folder)).filter((entry) => !entry.startsWith(".tmp-")),
      [name],
    );
  });

  it("falls behind during a storage outage without losing a segment, and catches up", async () => {
    const folder = join(setup.ws.dir, "repo", "wal", "app-db", await systemId());
    await chmod(folder, 0o500); // the archiver (postgres) can no longer write
    try {
      await setup.marker("during-outage");
      await setup.cluster.psql("SELECT pg_switch_wal()");
      const deadline = Date.now() + 30_000;
      while (Number(await setup.cluster.psql("SELECT failed_count FROM pg_stat_archiver")) === 0) {
        assert.ok(Date.now() < deadline, "archiving never failed during the outage");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await chmod(folder, 0o755);
    }
    await setup.marker("after-outage");
    await setup.switchAndWait();
    const check = await setup.ws.cli(["check", "--json"]);
    assert.equal(check.code, 0, check.stdout);
    const { markers } = await restoreAndRead("after-outage", ["--latest"]);
    assert.ok(markers.includes("during-outage") && markers.includes("after-outage"), markers.join(", "));
  });

  it("follows a promotion onto timeline 2 through its history file", async () => {
    // The operator's way: restore without --start, then start the copy as the new primary with
    // archiving on (as after a failover). Its restore_command is `lifeboat wal-fetch`.
    const dir = join(setup.ws.dir, "restore-promoted");
    restored.push(dir);
    const laid = await setup.ws.cli(["restore", "app-db", "--to", dir, "--latest", "--json"]);
    assert.equal(laid.code, 0, laid.stderr);
    assert.match(
      await readFile(join(dir, "postgresql.auto.conf"), "utf8"),
      /restore_command = '.*wal-fetch app-db --system-id \d+ %f %p'/,
    );
    const port = await freePort();
    const pgCtl = "/usr/lib/postgresql/15/bin/pg_ctl";
    const start = spawnSync("runuser", [
      "-u",
      "postgres",
      "--",
      pgCtl,
      "start",
      "-D",
      dir,
      "-w",
      "-t",
      "120",
      "-s",
      "-l",
      join(dir, "start.log"),
      "-o",
      `-p ${port} -c listen_addresses=localhost -c archive_mode=on -c archive_command=${shellWord(setup.archiveCommand)}`,
    ]);
    assert.equal(start.status, 0, String(start.stderr));
    const promoted = psqlAt(port);
    const deadline = Date.now() + 60_000;
    while ((await promoted("SELECT pg_is_in_recovery()")) === "t") {
      assert.ok(Date.now() < deadline, "the copy did not finish recovery");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(await setup.markersIn(promoted), await setup.markersIn(setup.cluster.psql));
    await promoted("INSERT INTO lifeboat_test_markers (label) VALUES ('on-timeline-2')");
    const segment = await promoted("SELECT pg_walfile_name(pg_switch_wal())");
    assert.match(segment, /^00000002/);
    while ((await promoted("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")) < segment) {
      assert.ok(Date.now() < deadline, "the promoted copy did not archive");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const { markers, result } = await restoreAndRead("timeline-2", ["--latest"]);
    assert.ok(markers.includes("on-timeline-2"), `markers: ${markers.join(", ")}`);
    assert.equal(result.json.timeline, 2);
    assert.equal(result.json.reachedTimeline, 3);
  });

  it("names a missing segment in check and refuses a restore across the gap", async () => {
    const list = await setup.ws.cli(["snapshots", "app-db", "--json"]);
    const first = list.json.snapshots[0];
    const start = first.engineMeta.start_segment as string;
    const folder = join(setup.ws.dir, "repo", "wal", "app-db", first.engineMeta.system_identifier);
    const next =
      start.slice(0, 16) + (parseInt(start.slice(16), 16) + 1).toString(16).toUpperCase().padStart(8, "0");
    await rm(join(folder, next));

    const check = await setup.ws.cli(["check", "--json"]);
    assert.equal(check.code, 4);
    const gap = check.json.problems.find((problem: { code: string }) => problem.code === "WAL_GAP");
    assert.ok(gap, check.stdout);
    assert.match(gap.message, new RegExp(`${next} is missing`));

    const dir = join(setup.ws.dir, "restore-gap");
    const refused = await setup.ws.cli([
      "restore",
      "app-db",
      "--to",
      dir,
      "--snapshot",
      first.id,
      "--target-time",
      targets.time!,
      "--json",
    ]);
    assert.equal(refused.code, 4, refused.stdout);
    assert.equal(refused.json.error.code, "WAL_GAP");
    assert.match(refused.json.error.message, new RegExp(`needs WAL segment ${next}`));
    assert.equal(await exists(dir), false);
  });

  async function systemId(): Promise<string> {
    return setup.cluster.psql("SELECT system_identifier FROM pg_control_system()");
  }
});
