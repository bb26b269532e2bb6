// `runbook render` and runbook drills through the real CLI, on a real SQLite
// database: the rendered runbook passes its own `runbook check`, re-rendering
// keeps what the team wrote and refuses to overwrite a hand-edited region, a
// changed objective is drift until the next render, and `drill --runbook`
// runs the rendered restore section against a scratch target, passes, and
// fails at the step whose command is broken.

import assert from "node:assert/strict";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, it } from "node:test";
import { workspace } from "./support/cli.ts";

let ws: Awaited<ReturnType<typeof workspace>>;
let runbook: string;

const config = (
  dir: string,
  rto = "10m",
) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  app-sqlite:
    engine: sqlite
    path: "${dir}/app.db"
    objectives: { rto: ${rto}, rpo: 1d }
    drill:
      checks:
        - expect_rows: { table: orders, equals: 3 }
  uploads: { engine: files, path: "${dir}/uploads" }
schedules:
  nightly: { cron: "0 2 * * *", run: backup }
`;

function lineOf(text: string, needle: string | RegExp): number {
  const lines = text.split("\n");
  const index = lines.findIndex((line) =>
    typeof needle === "string" ? line.includes(needle) : needle.test(line),
  );
  assert.ok(index >= 0, `no line with ${needle}`);
  return index + 1;
}

describe("runbook render and runbook drills", () => {
  before(async () => {
    ws = await workspace((dir) => config(dir));
    runbook = join(ws.dir, "RUNBOOK.md");
    const db = new DatabaseSync(join(ws.dir, "app.db"));
    db.exec(
      "CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT); INSERT INTO orders (item) VALUES ('a'), ('b'), ('c');",
    );
    db.close();
    await mkdir(join(ws.dir, "uploads"));
    await writeFile(join(ws.dir, "uploads", "a.txt"), "a");
    assert.equal((await ws.cli(["init"])).code, 0);
    const backup = await ws.cli(["backup", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
  });
  after(() => ws.cleanup());

  it("renders a runbook that passes its own check, and says nothing changed the second time", async () => {
    const rendered = await ws.cli(["runbook", "render", "--out", runbook, "--json"]);
    assert.equal(rendered.code, 0, rendered.stderr);
    assert.equal(rendered.json.created, true);
    assert.deepEqual(rendered.json.regions.added, [
      "header",
      "objectives",
      "backups",
      "monitoring",
      "restore:app-sqlite",
      "restore:uploads",
      "drill-record",
    ]);
    const text = await readFile(runbook, "utf8");
    assert.doesNotMatch(text, new RegExp(ws.password));
    assert.match(text, /## Restore app-sqlite \(sqlite\)/);

    const check = await ws.cli(["runbook", "check", runbook, "--json"]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.deepEqual(check.json.drifts, []);
    assert.ok(check.json.markers >= 10, `${check.json.markers} markers`);

    const again = await ws.cli(["runbook", "render", "--out", runbook, "--json"]);
    assert.equal(again.json.changed, false);
    assert.equal(await readFile(runbook, "utf8"), text);
  });

  it("keeps the team's prose, refuses to overwrite a hand-edited region, and --force does", async () => {
    const original = await readFile(runbook, "utf8");
    const prose = original.replace(
      "| Incident commander | _name_ |",
      "| Incident commander | Dana (+49 30 1234) |",
    );
    await writeFile(runbook, `${prose}\n## Our own notes\n\nCall the vendor first.\n`);
    await writeFile(ws.configFile, config(ws.dir, "20m"));
    const drifted = await ws.cli(["runbook", "check", runbook, "--json"]);
    assert.equal(drifted.code, 6, drifted.stdout);
    const text = await readFile(runbook, "utf8");
    assert.deepEqual(
      drifted.json.drifts.map((drift: { line: number; kind: string }) => drift.line),
      [lineOf(text, /^\| app-sqlite \| sqlite \| 10m/)],
    );

    const rerendered = await ws.cli(["runbook", "render", "--out", runbook, "--json"]);
    assert.equal(rerendered.code, 0, rerendered.stderr);
    // The RTO is in the objectives table, the alert rules and the restore checklist.
    assert.deepEqual(rerendered.json.regions.updated, ["objectives", "monitoring", "restore:app-sqlite"]);
    const updated = await readFile(runbook, "utf8");
    assert.match(updated, /Dana \(\+49 30 1234\)/);
    assert.ok(updated.endsWith("## Our own notes\n\nCall the vendor first.\n"));
    assert.match(updated, /\| app-sqlite \| sqlite \| 20m \| 1d \|/);
    assert.equal((await ws.cli(["runbook", "check", runbook])).code, 0);

    await writeFile(
      runbook,
      updated.replace("## Monitoring\n", "## Monitoring\n\nOur pager rota is in the wiki.\n"),
    );
    const refused = await ws.cli(["runbook", "render", "--out", runbook, "--dry-run", "--json"]);
    assert.equal(refused.code, 2);
    assert.match(
      refused.json.error.message,
      new RegExp(`RUNBOOK\\.md:\\d+: region monitoring was edited by hand`),
    );
    assert.match(await readFile(runbook, "utf8"), /pager rota/);
    const forced = await ws.cli(["runbook", "render", "--out", runbook, "--force", "--json"]);
    assert.deepEqual(forced.json.regions.overwritten, ["monitoring"]);
    assert.doesNotMatch(await readFile(runbook, "utf8"), /pager rota/);
  });

  it("a runbook drill runs the rendered restore section against a scratch target and verifies it", async () => {
    const drill = await ws.cli([
      "drill",
      "--runbook",
      runbook,
      "--section",
      "Restore app-sqlite",
      "--operator",
      "Dana",
      "--json",
    ]);
    assert.equal(drill.code, 0, drill.stdout + drill.stderr);
    const report = drill.json;
    assert.equal(report.status, "passed");
    assert.equal(report.source, "app-sqlite");
    assert.equal(report.operator, "Dana");
    assert.equal(report.runbook.section, "Restore app-sqlite (sqlite)");
    const text = await readFile(runbook, "utf8");
    assert.deepEqual(
      report.runbook.steps.map((step: { line: number; result: string }) => [step.line, step.result]),
      [
        [lineOf(text, /^lifeboat .*snapshots app-sqlite$/) - 1, "passed"],
        [lineOf(text, /restore app-sqlite --to "\$RESTORE_TARGET" --dry-run$/) - 1, "passed"],
        [lineOf(text, /restore app-sqlite --to "\$RESTORE_TARGET"$/) - 1, "passed"],
      ],
    );
    for (const step of report.runbook.steps) assert.ok(step.seconds > 0);
    const names = report.checks.map((check: { name: string }) => check.name);
    assert.ok(names.includes("fingerprint"), names.join(", "));
    assert.ok(names.includes("expect_rows: orders"), names.join(", "));
    assert.ok(report.rto.achieved > 0);
    assert.equal(report.rto.objective, 1200);
    assert.doesNotMatch(drill.stdout + drill.stderr, new RegExp(ws.password));
    // Evidence like any drill's: in the history and the report files.
    const drills = await ws.cli(["drills", "--json"]);
    assert.ok(drills.json.drills.some((entry: { id: string }) => entry.id === report.id));
    assert.ok((await readdir(join(ws.dir, "drill-reports"))).some((name) => name.includes(report.id)));
  });

  it("stops at the step whose command is broken, and says which", async () => {
    const text = await readFile(runbook, "utf8");
    const broken = text.replace(
      /(restore app-sqlite --to "\$RESTORE_TARGET") --dry-run\n/,
      "$1 --dry-runn\n",
    );
    assert.notEqual(broken, text);
    const file = join(ws.dir, "BROKEN.md");
    await writeFile(file, broken);
    const drill = await ws.cli(["drill", "--runbook", file, "--section", "Restore app-sqlite", "--json"]);
    assert.equal(drill.code, 6, drill.stdout + drill.stderr); // verification failed (docs/errors.md)
    assert.equal(drill.json.status, "verification_failed");
    assert.deepEqual(
      drill.json.runbook.steps.map((step: { result: string }) => step.result),
      ["passed", "failed"],
    );
    assert.match(
      drill.json.issues.join("\n"),
      /step 2 \(.*BROKEN\.md:\d+\) failed: exit 2.*unknown option '--dry-runn'/,
    );
    assert.equal(drill.json.rto.achieved, null);
    // runbook check finds the same thing without running anything.
    const check = await ws.cli(["runbook", "check", file, "--json"]);
    assert.equal(check.code, 6);
    assert.match(JSON.stringify(check.json.drifts), /--dry-runn/);
  });

  it("refuses a section that does not exist or has nothing to run", async () => {
    const missing = await ws.cli(["drill", "--runbook", runbook, "--section", "Failover", "--json"]);
    assert.equal(missing.code, 2);
    assert.match(
      missing.json.error.message,
      /has no section "Failover"; its headings: Disaster recovery runbook;/,
    );
    const nothing = await ws.cli([
      "drill",
      "app-sqlite",
      "--runbook",
      runbook,
      "--section",
      "Drill record",
      "--json",
    ]);
    assert.equal(nothing.code, 2);
    assert.match(nothing.json.error.message, /has no runnable block/);
  });
});
