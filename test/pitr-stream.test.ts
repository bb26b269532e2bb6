// Streaming WAL (wal_stream) through the real CLI: `lifeboat wal-stream`
// runs pg_receivewal with a replication slot against a throwaway cluster
// that also archives with wal-push, and stores the head of the unfinished
// segment every interval. A restore reaches rows committed after the last
// segment switch, a marker drill proves its RPO without switching WAL, a
// storage outage is caught up without losing WAL, SIGTERM stops the
// streamer cleanly, and a target past the stream is refused up front.

import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmod, mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseLsn } from "../src/domain/wal.ts";
import { cliPath } from "./support/cli.ts";
import { freePort } from "./support/pg-cluster.ts";
import { psqlAt, startPitrSetup, stopRestored, type PitrSetup } from "./support/pitr.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Streamer {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stderr(): string;
}

describe("streaming WAL (wal-stream)", () => {
  let setup: PitrSetup;
  let streamer: Streamer | undefined;
  let walFolder = "";
  const restored: string[] = [];

  /** The streamer as the server's user, as a systemd unit would run it (setpriv: signals reach it directly). */
  function startStreamer(): Streamer {
    const child = spawn(
      "setpriv",
      [
        "--reuid=postgres",
        "--regid=postgres",
        "--init-groups",
        "--",
        process.execPath,
        cliPath,
        "-c",
        setup.ws.configFile,
        "--verbose",
        "wal-stream",
        "app-db",
        "--json",
      ],
      {
        env: { ...process.env, ...setup.ws.env, LIFEBOAT_TMPDIR: join(setup.ws.dir, "stream-tmp") },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      child.on("close", (code) => resolve({ code, stdout, stderr })),
    );
    return { child, done, stderr: () => stderr };
  }

  async function stopStreamer(): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const running = streamer!;
    streamer = undefined;
    running.child.kill("SIGTERM");
    return running.done;
  }

  /** Wait until check says the archive is streamed up to `lsn` (or a whole segment past it). */
  async function waitStreamedPast(lsn: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const check = await setup.ws.cli(["check", "--json"]);
      const wal = check.json?.wal?.[0];
      if (wal?.streamedUpTo && parseLsn(wal.streamedUpTo) >= parseLsn(lsn)) return;
      if (Date.now() > deadline) {
        throw new Error(
          `not streamed past ${lsn} within ${timeoutMs / 1000}s: ${JSON.stringify(wal)}\n${streamer?.stderr()}`,
        );
      }
      await sleep(300);
    }
  }

  const segmentOf = (lsn: string) => setup.cluster.psql(`SELECT pg_walfile_name('${lsn}')`);
  const lastArchived = () =>
    setup.cluster.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");

  before(async () => {
    setup = await startPitrSetup({
      appDb: (dir) => `    wal_stream: { dir: "${dir}/stream", interval: 300ms }
    objectives: { rpo: 1m }
    drill:
      marker: true
`,
    });
    for (const dir of ["stream", "stream-tmp"]) {
      await mkdir(join(setup.ws.dir, dir));
      spawnSync("chown", ["postgres", join(setup.ws.dir, dir)]);
    }
    await setup.marker("before-backup");
    const backup = await setup.ws.cli(["backup", "app-db"]);
    assert.equal(backup.code, 0, backup.stderr);
    const systemId = await setup.cluster.psql("SELECT system_identifier FROM pg_control_system()");
    walFolder = join(setup.ws.dir, "repo", "wal", "app-db", systemId);
    streamer = startStreamer();
  });

  after(async () => {
    if (streamer) await stopStreamer();
    for (const dir of restored) stopRestored(dir);
    await setup?.stop();
  });

  it("restores a row committed after the last segment switch: recovery reads the streamed head", async () => {
    await setup.marker("streamed");
    const lsn = await setup.cluster.psql("SELECT pg_current_wal_insert_lsn()");
    await waitStreamedPast(lsn);
    // archive_command has not seen the marker's segment: only the stream can deliver it.
    const segment = await segmentOf(lsn);
    assert.ok((await lastArchived()) < segment, `${segment} was archived by archive_command`);
    assert.ok((await readdir(walFolder)).includes(`${segment}.head`));

    const dir = join(setup.ws.dir, "restore-latest");
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
      "--json",
    ]);
    assert.equal(restore.code, 0, `${restore.stderr}\n${restore.stdout}`);
    assert.deepEqual(await setup.markersIn(psqlAt(port)), ["before-backup", "streamed"]);
    stopRestored(dir);
  });

  it("refuses an LSN past the streamed WAL before the data directory is touched", async () => {
    const lsn = await setup.cluster.psql("SELECT pg_current_wal_insert_lsn() + 4096");
    const dir = join(setup.ws.dir, "restore-past");
    const refused = await setup.ws.cli(["restore", "app-db", "--to", dir, "--target-lsn", lsn, "--json"]);
    assert.equal(refused.code, 5, refused.stderr);
    assert.equal(refused.json.error.code, "PITR_TARGET_UNREACHABLE");
    assert.match(refused.json.error.message, /past the newest streamed WAL \(LSN [0-9A-F]+\/[0-9A-F]+\)/);
    assert.match(refused.json.error.message, /reachable: from /);
    await assert.rejects(readdir(dir), { code: "ENOENT" });
  });

  it("a marker drill proves its RPO from the stream, without switching WAL", async () => {
    const archivedBefore = await setup.cluster.psql("SELECT archived_count FROM pg_stat_archiver");
    const drill = await setup.ws.cli(["drill", "app-db", "--json"]);
    assert.equal(drill.code, 0, `${drill.stderr}\n${drill.stdout}`);
    const report = drill.json;
    assert.equal(report.status, "passed");
    assert.equal(report.checks.find((check: { name: string }) => check.name === "markers").result, "passed");
    assert.equal(report.pointInTime.walDelivery, "stream");
    assert.equal(report.pointInTime.rpoMeasuredBy, "markers");
    // The stream stores its head every 300 ms: the markers are in the archive within seconds.
    assert.ok(
      report.pointInTime.markersArchivedAfter >= 0 && report.pointInTime.markersArchivedAfter < 10,
      `archived after ${report.pointInTime.markersArchivedAfter}s`,
    );
    assert.ok(report.rpo.achieved >= 0 && report.rpo.achieved < 5, `RPO ${report.rpo.achieved}`);
    assert.equal(report.rpo.met, true);
    // No segment was switched to deliver the markers.
    assert.equal(await setup.cluster.psql("SELECT archived_count FROM pg_stat_archiver"), archivedBefore);
  });

  it("archives a finished segment once through both channels, without a conflict, and drops its head", async () => {
    const segment = await setup.cluster.psql("SELECT pg_walfile_name(pg_switch_wal())");
    const deadline = Date.now() + 30_000;
    for (;;) {
      const names = await readdir(walFolder);
      if (names.includes(segment) && !names.includes(`${segment}.head`) && (await lastArchived()) >= segment)
        break;
      if (Date.now() > deadline) throw new Error(`${segment}: ${names.join(" ")}\n${streamer!.stderr()}`);
      await sleep(200);
    }
    assert.doesNotMatch(streamer!.stderr(), /WAL_CONFLICT/);
    const check = await setup.ws.cli(["check", "--read-data", "--json"]);
    assert.equal(check.code, 0, check.stderr);
    assert.deepEqual(check.json.wal[0].problems, []);
  });

  it("falls behind while storage refuses writes and catches up afterwards without losing WAL", async () => {
    await chmod(walFolder, 0o555); // the streamer (and archive_command) run as postgres: no writes
    try {
      await setup.marker("during-outage");
      const lsn = await setup.cluster.psql("SELECT pg_current_wal_insert_lsn()");
      const deadline = Date.now() + 20_000;
      while (!/retrying/.test(streamer!.stderr())) {
        if (Date.now() > deadline)
          throw new Error(`the streamer did not report the outage:\n${streamer!.stderr()}`);
        await sleep(200);
      }
      await chmod(walFolder, 0o755);
      await waitStreamedPast(lsn);
    } finally {
      await chmod(walFolder, 0o755);
    }
  });

  it("gives pg_receivewal no repository secret, in its arguments or its environment", async () => {
    const found = spawnSync("pgrep", ["-f", `pg_receivewal --directory=${join(setup.ws.dir, "stream")}`]);
    const pid = found.stdout.toString().trim().split("\n")[0]!;
    assert.match(pid, /^\d+$/, `no pg_receivewal running:\n${streamer!.stderr()}`);
    const args = await readFile(`/proc/${pid}/cmdline`, "utf8");
    const environment = await readFile(`/proc/${pid}/environ`, "utf8");
    assert.match(args, /--slot=lifeboat_app_db/);
    for (const text of [args, environment]) {
      assert.ok(!text.includes(setup.ws.password), "the repository password reached pg_receivewal");
      assert.doesNotMatch(text, /LIFEBOAT_/);
    }
  });

  it("a wrong repository password is WRONG_PASSWORD at once, and no receiver starts", async () => {
    const passwordFile = join(setup.ws.dir, "password");
    const right = await readFile(passwordFile, "utf8");
    await writeFile(passwordFile, "not the password\n");
    try {
      const wrong = await setup.ws.cli(["wal-stream", "app-db", "--json"]);
      assert.equal(wrong.code, 12, wrong.stderr);
      assert.equal(wrong.json.error.code, "WRONG_PASSWORD");
    } finally {
      await writeFile(passwordFile, right);
    }
  });

  it("SIGTERM stops the streamer within seconds, releasing its slot", async () => {
    const deadline = Date.now() + 30_000;
    while (!/streaming into/.test(streamer!.stderr())) {
      if (Date.now() > deadline) throw new Error(`the streamer did not start:\n${streamer!.stderr()}`);
      await sleep(100);
    }
    const started = Date.now();
    const stopped = await stopStreamer();
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.ok(Date.now() - started < 15_000);
    const summary = JSON.parse(stopped.stdout);
    assert.equal(summary.stopped, true);
    assert.equal(summary.slot, "lifeboat_app_db");
    assert.ok(summary.headsStored > 0);
    assert.equal(
      await setup.cluster.psql("SELECT active FROM pg_replication_slots WHERE slot_name = 'lifeboat_app_db'"),
      "f",
    );
    // No receiver is left behind.
    const left = spawnSync("pgrep", ["-f", `pg_receivewal.*${join(setup.ws.dir, "stream")}`]);
    assert.equal(left.stdout.toString().trim(), "");
  });

  it("a flipped byte in a stream head is a named checksum error for restore and check; nothing is laid down", async () => {
    const head = (await readdir(walFolder))
      .filter((name) => name.endsWith(".head"))
      .sort()
      .at(-1)!;
    assert.ok(head, "a head is stored");
    const path = join(walFolder, head);
    const original = await readFile(path);
    const damaged = Buffer.from(original);
    damaged[Math.floor(damaged.length / 2)]! ^= 0x01;
    await writeFile(path, damaged);
    try {
      const dir = join(setup.ws.dir, "restore-damaged");
      const restore = await setup.ws.cli(["restore", "app-db", "--to", dir, "--latest", "--json"]);
      assert.equal(restore.code, 4, restore.stderr);
      assert.equal(restore.json.error.code, "CHECKSUM_MISMATCH");
      assert.match(restore.json.error.message, new RegExp(head.replace(".", "\\.")));
      await assert.rejects(readdir(dir), { code: "ENOENT" });
      const check = await setup.ws.cli(["check", "--json"]);
      assert.equal(check.code, 4, check.stderr);
      const problem = check.json.wal[0].problems.find((entry: { object: string }) =>
        entry.object.endsWith(head),
      );
      assert.equal(problem?.code, "CHECKSUM_MISMATCH", check.stdout);
    } finally {
      await writeFile(path, original);
    }
  });

  it("--drop-slot retires the slot (--dry-run removes nothing)", async () => {
    const dry = await setup.ws.cli(["wal-stream", "app-db", "--drop-slot", "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.json.dropped, false);
    const slotCount = () =>
      setup.cluster.psql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'lifeboat_app_db'");
    assert.equal(await slotCount(), "1");
    const dropped = await setup.ws.cli(["wal-stream", "app-db", "--drop-slot", "--json"]);
    assert.equal(dropped.code, 0, dropped.stderr);
    assert.equal(dropped.json.dropped, true);
    assert.equal(await slotCount(), "0");
  });

  it("reports bad wal_stream settings with their path", async () => {
    const config = await readFile(setup.ws.configFile, "utf8");
    try {
      await writeFile(
        setup.ws.configFile,
        config.replace(/wal_stream: \{[^}]*\}/, 'wal_stream: { dir: "relative/dir", slot: "Bad-Slot" }'),
      );
      const bad = await setup.ws.cli(["wal-stream", "app-db", "--json"]);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /sources\.app-db\.wal_stream\.dir/);
      assert.match(bad.stderr, /sources\.app-db\.wal_stream\.slot/);
    } finally {
      await writeFile(setup.ws.configFile, config);
    }
  });
});
