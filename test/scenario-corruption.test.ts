// A data-corruption scenario against a real cluster archiving its WAL into
// Lifeboat: a table is dropped, the recover steps make sure the WAL past the
// drop is archived and restore the cluster to just before the disruption
// (point-in-time recovery, started on a free port), and the probe finds the
// table with all its rows in the restored server.

import assert from "node:assert/strict";
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { freePort } from "./support/pg-cluster.ts";
import { startPitrSetup, stopRestored, type PitrSetup } from "./support/pitr.ts";

let setup: PitrSetup;
let restoredDir: string;

before(async () => {
  setup = await startPitrSetup();
  const backup = await setup.ws.cli(["backup", "app-db", "--json"]);
  assert.equal(backup.code, 0, backup.stderr);
  for (let index = 1; index <= 25; index++) await setup.marker(`row-${index}`);
  await setup.switchAndWait();
  restoredDir = join(setup.ws.dir, "restored");
  const port = await freePort();
  const source = setup.cluster.url();
  const psql = `psql -X -Atq ${JSON.stringify(source).slice(1, -1)}`;
  // Archive the segment holding the drop, and wait until the archiver says so.
  const archived = `seg=$(${psql} -c 'select pg_walfile_name(pg_switch_wal())'); for i in $(seq 300); do [ "$(${psql} -c "select coalesce(last_archived_wal, '') >= '$seg' from pg_stat_archiver")" = t ] && exit 0; sleep 0.1; done; exit 1`;
  await appendFile(
    setup.ws.configFile,
    `scenarios:
  dropped-table:
    services: [app-db]
    expected: { rto: 5m }
    steps:
      - steady: { sql: "select count(*) = 25 from lifeboat_test_markers", url: "${source}", timeout: 10s }
      - disrupt: { sql: "DROP TABLE lifeboat_test_markers", url: "${source}" }
      - recover: { command: ${JSON.stringify(archived)}, timeout: 1m }
      - recover: { restore: { source: app-db, to: "${restoredDir}", before_disruption: true, args: ["--start", "--port", "${port}"] } }
      - probe: { sql: "select count(*) = 25 from lifeboat_test_markers", url: "postgres://postgres@127.0.0.1:${port}/postgres", timeout: 1m }
`,
  );
});
after(async () => {
  if (restoredDir) stopRestored(restoredDir);
  await setup?.stop();
});

test("drop a table, restore to just before the drop: the table and its rows are back", async () => {
  const run = await setup.ws.cli(["scenario", "run", "dropped-table", "--json"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const report = run.json;
  assert.equal(report.status, "passed");
  assert.deepEqual(
    report.steps.map((step: { kind: string; result: string }) => `${step.kind}:${step.result}`),
    ["steady:passed", "disrupt:passed", "recover:passed", "recover:passed", "probe:passed"],
  );
  assert.match(report.steps[3].name, /restore app-db --to .* \(to just before the disruption\)/);
  assert.ok(report.rto.achieved > 0 && report.rto.met === true, JSON.stringify(report.rto));
  // The source lost the table; the restore has all 25 rows.
  await assert.rejects(setup.cluster.psql("SELECT count(*) FROM lifeboat_test_markers"), /does not exist/);
  assert.doesNotMatch(run.stdout + run.stderr, new RegExp(setup.ws.password));
});
