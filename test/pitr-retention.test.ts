// Retention of PITR sources: forget keeps the base backup a pitr_window
// starts from whatever the policy says about base backups, prune deletes the
// WAL no kept base backup can replay and nothing else, and --dry-run names
// exactly what the real run deletes.

import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startPitrSetup, type PitrSetup } from "./support/pitr.ts";

describe("PITR retention", () => {
  let setup: PitrSetup;
  const ids: string[] = [];
  let walFolder = "";

  before(async () => {
    setup = await startPitrSetup({
      appDb: `    pitr_window: 1h
    retention: { keep_last: 1 }
`,
    });
    for (let round = 0; round < 3; round++) {
      await setup.marker(`round-${round}`);
      await setup.switchAndWait();
      const backup = await setup.ws.cli(["backup", "app-db", "--json"]);
      assert.equal(backup.code, 0, backup.stderr);
      ids.push(backup.json.snapshots[0].id);
    }
    const systemId = await setup.cluster.psql("SELECT system_identifier FROM pg_control_system()");
    walFolder = join(setup.ws.dir, "repo", "wal", "app-db", systemId);
  });

  after(async () => setup?.stop());

  const startSegment = async (id: string) => {
    const list = await setup.ws.cli(["snapshots", "app-db", "--json"]);
    return list.json.snapshots.find((snapshot: { id: string }) => snapshot.id === id).engineMeta
      .start_segment as string;
  };

  it("keeps the base backup the PITR window starts from, and the newest by keep_last", async () => {
    const dry = await setup.ws.cli(["forget", "app-db", "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
    const planned = dry.json.sources[0];
    const kept = planned.keep.map((entry: { id: string }) => entry.id);
    assert.deepEqual(kept, [ids[0], ids[2]]);
    assert.equal(planned.keep[0].reasons[0].rule, "pitr-window");
    assert.deepEqual(
      planned.remove.map((entry: { id: string }) => entry.id),
      [ids[1]],
    );
  });

  it("prunes the WAL older than the oldest kept base backup, exactly as its dry run said", async () => {
    const forget = await setup.ws.cli(["forget", "app-db", "--json"]);
    assert.equal(forget.code, 0, forget.stderr);
    const firstStart = await startSegment(ids[0]!);
    const before = await readdir(walFolder);
    const older = before.filter((name) => name.slice(0, 24) < firstStart && !name.endsWith(".history"));
    assert.ok(older.length > 0, "the test needs WAL from before the first base backup");

    const dry = await setup.ws.cli(["prune", "--grace", "0s", "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
    const planned = dry.json.wal.remove.map((key: string) => key.slice(key.lastIndexOf("/") + 1)).sort();
    assert.deepEqual(planned, older.sort());
    assert.deepEqual(await readdir(walFolder), before, "a dry run deletes nothing");

    const real = await setup.ws.cli(["prune", "--grace", "0s", "--json"]);
    assert.equal(real.code, 0, real.stderr);
    assert.equal(real.json.wal.deletedFiles, older.length);
    const after = await readdir(walFolder);
    assert.deepEqual(after.sort(), before.filter((name) => !older.includes(name)).sort());
    const check = await setup.ws.cli(["check", "--json"]);
    assert.equal(check.code, 0, check.stdout);
  });

  it("without a window, keep_last alone decides and the WAL before the newest base backup goes", async () => {
    const config = await readFile(setup.ws.configFile, "utf8");
    await writeFile(setup.ws.configFile, config.replace("    pitr_window: 1h\n", ""));
    const forget = await setup.ws.cli(["forget", "app-db", "--prune", "--grace", "0s", "--json"]);
    assert.equal(forget.code, 0, forget.stderr);
    assert.deepEqual(
      forget.json.sources[0].keep.map((entry: { id: string }) => entry.id),
      [ids[2]],
    );
    const newestStart = await startSegment(ids[2]!);
    const left = (await readdir(walFolder)).filter((name) => !name.endsWith(".history"));
    assert.ok(
      left.every((name) => name.slice(0, 24) >= newestStart),
      left.join(" "),
    );
    // A moment before the newest base backup is now out of reach, and the refusal says so.
    const refused = await setup.ws.cli([
      "restore",
      "app-db",
      "--to",
      join(setup.ws.dir, "too-old"),
      "--target-time",
      "2001-01-01T00:00:00Z",
      "--json",
    ]);
    assert.equal(refused.json.error.code, "PITR_TARGET_UNREACHABLE");
  });
});
