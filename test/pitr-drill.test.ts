// PITR drills through the real CLI: markers written into the source prove
// what the point-in-time restore holds, the achieved RPO is measured from
// them, RTO is split into lay-down, replay and promote, and a broken WAL
// chain fails the drill as a verification failure, not a pass.

import assert from "node:assert/strict";
import { readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startPitrSetup, type PitrSetup } from "./support/pitr.ts";

describe("point-in-time drills", () => {
  let setup: PitrSetup;

  before(async () => {
    setup = await startPitrSetup({
      appDb: `    objectives: { rto: 15m, rpo: 5m }
    drill:
      marker: true
      checks:
        - sql: "SELECT count(*) > 0 FROM lifeboat_test_markers"
`,
    });
    await setup.marker("before-backup");
    const backup = await setup.ws.cli(["backup", "app-db"]);
    assert.equal(backup.code, 0, backup.stderr);
    await setup.marker("after-backup");
  });

  after(async () => setup?.stop());

  it("restores to the moment between two markers, proves it and measures the RPO from them", async () => {
    const drill = await setup.ws.cli(["drill", "app-db", "--json"]);
    assert.equal(drill.code, 0, `${drill.stderr}\n${drill.stdout}`);
    const report = drill.json;
    assert.equal(report.status, "passed");
    const markers = report.checks.find((check: { name: string }) => check.name === "markers");
    assert.equal(markers.result, "passed", markers.detail);
    assert.equal(report.checks.find((check: { kind: string }) => check.kind === "sql").result, "passed");
    assert.equal(report.pointInTime.rpoMeasuredBy, "markers");
    assert.ok(report.rpo.achieved > 0 && report.rpo.achieved < 5, `RPO ${report.rpo.achieved}`);
    assert.equal(report.rpo.met, true);
    for (const phase of ["mark", "layDown", "replay", "promote", "verify"]) {
      assert.equal(typeof report.phases[phase], "number", `phase ${phase}`);
    }
    assert.ok(report.rto.achieved > 0 && report.rto.met === true);
    // The source now holds this drill's two markers.
    const rows = await setup.cluster.psql(
      `SELECT label FROM lifeboat_drill_markers WHERE drill_id = '${report.id}' ORDER BY id`,
    );
    assert.equal(rows, "before\nafter");
    const list = await setup.ws.cli(["drills", "app-db", "--json"]);
    assert.ok(JSON.stringify(list.json).includes(report.id));
  });

  it("misses an RPO objective it cannot meet", async () => {
    const config = await (await import("node:fs/promises")).readFile(setup.ws.configFile, "utf8");
    await writeFile(setup.ws.configFile, config.replace("rpo: 5m", "rpo: 1ms"));
    try {
      const drill = await setup.ws.cli(["drill", "app-db", "--json"]);
      assert.equal(drill.code, 7, drill.stdout);
      assert.equal(drill.json.status, "objective_missed");
      assert.equal(drill.json.rpo.met, false);
    } finally {
      await writeFile(setup.ws.configFile, config);
    }
  });

  it("fails the drill when the WAL chain has a gap", async () => {
    const list = await setup.ws.cli(["snapshots", "app-db", "--json"]);
    const meta = list.json.snapshots[0].engineMeta;
    const folder = join(setup.ws.dir, "repo", "wal", "app-db", meta.system_identifier);
    const stop = meta.stop_segment as string;
    const next =
      stop.slice(0, 16) + (parseInt(stop.slice(16), 16) + 1).toString(16).toUpperCase().padStart(8, "0");
    assert.ok((await readdir(folder)).includes(next));
    await rm(join(folder, next));
    const drill = await setup.ws.cli(["drill", "app-db", "--json"]);
    assert.equal(drill.code, 6, drill.stdout);
    assert.equal(drill.json.status, "verification_failed");
    const failed = drill.json.checks.find((check: { result: string }) => check.result === "failed");
    assert.match(failed.detail, new RegExp(`WAL_GAP.*${next}`));
  });
});
