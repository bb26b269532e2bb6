// `lifeboat runbook check` on a runbook with seed 000's DR-CHECK markers,
// verbatim, plus Lifeboat's own (cli=lifeboat, source, objectives,
// schedules), against a fixture tree of manifests, scripts and lifeboat.yaml
// (test/fixtures/runbook). The fixture passes as it is; each test breaks one
// thing in a copy and expects exactly that drift, at the marker's, block's,
// command's or row's own line, and exit 6.

import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { runCli } from "./support/cli.ts";

const fixture = new URL("./fixtures/runbook/", import.meta.url);
const markerCount = 11;

let dir: string;
let runbook: string;

/** The 1-based line of the fixture runbook that contains `needle` (exactly one must). */
function lineOf(needle: string): number {
  const lines = runbook.split("\n");
  const found = lines.flatMap((line, index) => (line.includes(needle) ? [index + 1] : []));
  assert.equal(found.length, 1, `${needle} should be on exactly one line: ${found.join(", ")}`);
  return found[0]!;
}

async function edit(path: string, from: string | RegExp, to: string): Promise<void> {
  const file = join(dir, path);
  const text = await readFile(file, "utf8");
  const changed = text.replace(from, to);
  assert.notEqual(changed, text, `${path}: ${String(from)} not found`);
  await writeFile(file, changed);
}

const check = (...args: string[]) => runCli(["runbook", "check", "runbook.md", ...args], { cwd: dir });

/** Exactly one drift, of this kind at this line; exit 6 (DEPLOY_DRIFT). */
async function expectOneDrift(kind: string, line: number) {
  const result = await check("--json");
  assert.equal(result.code, 6, result.stdout + result.stderr);
  const drifts = result.json.drifts as { kind: string; line: number; message: string }[];
  assert.deepEqual(
    drifts.map((drift) => ({ kind: drift.kind, line: drift.line })),
    [{ kind, line }],
    JSON.stringify(drifts, null, 2),
  );
  assert.equal(result.json.markers, markerCount);
  return drifts[0]!;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "lifeboat-runbook-"));
  await cp(fixture, dir, { recursive: true });
  runbook = await readFile(join(dir, "runbook.md"), "utf8");
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("runbook check", () => {
  test("the fixture passes: every marker checked, no drift, exit 0", async () => {
    const result = await check("--json");
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(result.json, { files: ["runbook.md"], markers: markerCount, drifts: [] });
    const text = await check();
    assert.equal(text.code, 0);
    assert.equal(text.stdout.trim(), `${markerCount} markers checked, 0 drifts`);
  });

  test("seed 000's markers are in the fixture verbatim", () => {
    // The fixture starts with seed 000's runbook unchanged; these are its markers, as the team wrote them.
    for (const marker of [
      "<!-- DR-CHECK: cronjob=timescaledb-pgdump manifest=deploy/k8s/base/timescaledb/statefulset.yaml -->",
      "<!-- DR-CHECK: cronjob=timescaledb-restore-drill manifest=deploy/k8s/overlays/staging/restore-drill-cronjob.yaml -->",
      "<!-- DR-CHECK: cli=dr_playbook.py command=snapshot -->",
      "<!-- DR-CHECK: cli=dr_playbook.py command=restore -->",
      "<!-- DR-CHECK: module=ops.backup.restore_drill callable=main -->",
    ])
      assert.ok(runbook.split("\n").includes(marker), marker);
  });

  test("a changed script in the manifest is reported at the block, with both scripts", async () => {
    await edit("deploy/k8s/base/timescaledb/statefulset.yaml", "export PGPASSWORD", "export PGPASSFILE");
    const drift = await expectOneDrift("script-differs", 17);
    assert.equal(lineOf("DR-CHECK: cronjob=timescaledb-pgdump"), 16);
    assert.match(drift.message, /line 3 is "export PGPASSFILE"/);
    const text = await check();
    assert.match(text.stdout, /^runbook\.md:17: script-differs: /m);
    assert.match(text.stdout, /^ {2}runbook: set -euo pipefail$/m);
    assert.match(text.stdout, /^ {4}export PGPASSFILE$/m);
    assert.match(text.stdout, /^11 markers checked, 1 drift$/m);
  });

  test("indentation and blank lines are no difference", async () => {
    await edit(
      "deploy/k8s/base/timescaledb/statefulset.yaml",
      "set -euo pipefail\n",
      "set -euo pipefail\n\n      ",
    );
    const result = await check("--json");
    assert.equal(result.code, 0, result.stdout);
  });

  test("a renamed CronJob is reported at its marker, naming what the manifest has", async () => {
    await edit(
      "deploy/k8s/overlays/staging/restore-drill-cronjob.yaml",
      "name: timescaledb-restore-drill",
      "name: timescaledb-drill",
    );
    const drift = await expectOneDrift("cronjob-missing", lineOf("cronjob=timescaledb-restore-drill"));
    assert.match(drift.message, /it has timescaledb-drill/);
  });

  test("a missing manifest file is a drift, not a crash", async () => {
    await rm(join(dir, "deploy/k8s/base/timescaledb/statefulset.yaml"));
    await expectOneDrift("manifest-missing", 16);
  });

  test("a subcommand removed from dr_playbook.py", async () => {
    await edit("dr_playbook.py", 'add_parser("snapshot"', 'add_parser("snap"');
    await expectOneDrift("subcommand-missing", lineOf("cli=dr_playbook.py command=snapshot"));
  });

  test("a lifeboat command naming a source removed from lifeboat.yaml, at the command's line", async () => {
    await edit("lifeboat.yaml", /\n {2}cache:\n.*\n.*\n/, "\n");
    await edit("lifeboat.yaml", "[timescaledb, uploads, cache]", "[timescaledb, uploads]");
    const drift = await expectOneDrift("source-unknown", lineOf("lifeboat --json backup cache"));
    assert.match(drift.message, /no source or group named cache/);
  });

  test("an unknown lifeboat flag, at the continuation line's command", async () => {
    await edit("runbook.md", "--dry-run   #", "--dry-runn  #");
    const drift = await expectOneDrift("command-invalid", lineOf("sudo -E lifeboat -c"));
    assert.equal(drift.message, "lifeboat restore has no option --dry-runn");
  });

  test("a lifeboat command with a surplus argument, and one without its required option", async () => {
    await edit("runbook.md", "lifeboat drill timescaledb &&", "lifeboat diff a b c &&");
    await expectOneDrift("command-invalid", lineOf("lifeboat drill timescaledb"));
    await writeFile(join(dir, "runbook.md"), runbook);
    await edit("runbook.md", "lifeboat backup --group platform", "lifeboat restore --group platform");
    const drift = await expectOneDrift("command-invalid", lineOf("lifeboat backup --group platform"));
    assert.equal(drift.message, "lifeboat restore needs --to");
  });

  test("a lifeboat command naming another source than the source marker", async () => {
    await edit("runbook.md", "lifeboat drill timescaledb", "lifeboat drill uploads");
    await expectOneDrift("source-not-named", lineOf("lifeboat drill timescaledb"));
  });

  test("an objective changed in lifeboat.yaml, at the table row", async () => {
    await edit("lifeboat.yaml", "rto: 15m", "rto: 30m");
    const drift = await expectOneDrift("objective-differs", lineOf("| timescaledb | 15 min |"));
    assert.match(drift.message, /RTO is 15 min, lifeboat.yaml declares 30m/);
  });

  test("equal durations in other units are no difference", async () => {
    await edit("lifeboat.yaml", "rto: 15m", "rto: 900s");
    assert.equal((await check()).code, 0);
  });

  test("a schedule changed in lifeboat.yaml, at the table row", async () => {
    await edit("lifeboat.yaml", '"0 2 * * *"', '"30 2 * * *"');
    await expectOneDrift("schedule-differs", lineOf("| nightly-backup |"));
  });

  test("a schedule lifeboat.yaml adds that the table leaves out, at the table", async () => {
    await writeFile(
      join(dir, "lifeboat.yaml"),
      (await readFile(join(dir, "lifeboat.yaml"), "utf8")) +
        "  weekly-check:\n    run: check\n    cron: 0 5 * * 0\n",
    );
    await expectOneDrift("schedule-missing", lineOf("| Schedule | Cron |"));
  });

  test("a module without the callable", async () => {
    await edit("ops/backup/restore_drill.py", "def main()", "def run()");
    await expectOneDrift("callable-missing", lineOf("module=ops.backup.restore_drill callable=main"));
  });

  test("a malformed marker is reported at its line, and the other markers still run", async () => {
    await edit("runbook.md", 'command="runbook check"', 'command="runbook check');
    const drift = await expectOneDrift("marker-malformed", lineOf('command="runbook check"'));
    assert.match(drift.message, /no closing "/);
  });

  test("an unknown key and a marker whose block is gone", async () => {
    await edit(
      "runbook.md",
      "cli=dr_playbook.py command=restore",
      "cli=dr_playbook.py command=restore when=now",
    );
    await expectOneDrift("marker-unknown-key", lineOf("cli=dr_playbook.py command=restore"));
    await writeFile(join(dir, "runbook.md"), runbook);
    await edit("runbook.md", /(callable=main -->\n)```bash\npython -m ops.backup.restore_drill\n```\n/, "$1");
    const result = await check("--json");
    assert.equal(result.code, 6);
    assert.deepEqual(
      result.json.drifts.map((drift: { kind: string; line: number }) => [drift.kind, drift.line]),
      [["marker-orphan", lineOf("callable=main")]],
    );
  });

  test("without lifeboat.yaml the checks that need it say so; the cronjob, cli and module checks still pass", async () => {
    await rm(join(dir, "lifeboat.yaml"));
    const result = await check("--json");
    assert.equal(result.code, 6);
    const drifts = result.json.drifts as { kind: string; line: number; message: string }[];
    assert.ok(
      drifts.every((drift) => drift.kind === "config-unavailable"),
      JSON.stringify(drifts),
    );
    assert.deepEqual(
      drifts.map((drift) => drift.line),
      [
        lineOf("cli=lifeboat command=restore"),
        lineOf("source=timescaledb"),
        lineOf("command=backup"),
        lineOf("objectives"),
        lineOf("DR-CHECK: schedules"),
      ],
    );
    assert.match(drifts[0]!.message, /config could not be loaded/);
  });

  test("--root names the tree the paths are relative to; a missing runbook is a usage error", async () => {
    const elsewhere = await runCli(["runbook", "check", join(dir, "runbook.md"), "--root", dir, "--json"]);
    assert.equal(elsewhere.code, 0, elsewhere.stdout + elsewhere.stderr);
    const missing = await runCli(["--json", "runbook", "check", "runbook.md", "absent.md"], { cwd: dir });
    assert.equal(missing.code, 2);
    assert.equal(missing.json.error.code, "BAD_ARGUMENT");
  });
});
