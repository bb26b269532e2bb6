// `lifeboat alerts render` checked by the real promtool (Debian package
// prometheus): both formats pass `promtool check rules`, and `promtool test
// rules` proves every alert fires when its objective is broken and stays
// quiet while it holds, on series named as docs/metrics.md says. Every test
// here goes through the CLI (`lifeboat alerts render`), as a user runs it.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { parse, stringify } from "yaml";
import { workspace } from "./support/cli.ts";

const run = promisify(execFile);
const PROMTOOL = "/usr/bin/promtool";
const skip = existsSync(PROMTOOL)
  ? false
  : `${PROMTOOL} is missing: install the Debian package prometheus to run the alert rule tests`;
type Workspace = Awaited<ReturnType<typeof workspace>>;
let ws: Workspace;

interface Rule {
  alert: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

before(async () => {
  ws = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  app:
    engine: postgres
    url: postgres://postgres@127.0.0.1:5432/app
    mode: physical
    objectives: { rpo: 1h, rto: 5m, drill_interval: 2h }
  bare:
    engine: files
    path: "${dir}/bare"
`,
  );
});
after(() => ws.cleanup());

async function promtool(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const result = await run(PROMTOOL, args);
    return { code: 0, output: result.stdout + result.stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, output: failure.stdout + failure.stderr };
  }
}

test("both formats pass promtool check rules; rules need their objectives", { skip }, async () => {
  const rulesFile = join(ws.dir, "rules.yml");
  const rendered = await ws.cli(["alerts", "render", "--out", rulesFile, "--json"]);
  assert.equal(rendered.code, 0, rendered.stderr);
  assert.equal(
    rendered.json.rules,
    2 + 6 + 2,
    "repository 2; app: all six; bare: failed backup and failed drill",
  );
  assert.ok(rendered.json.skipped.some((line: string) => line.startsWith("bare:")));
  const check = await promtool(["check", "rules", rulesFile]);
  assert.equal(check.code, 0, check.output);

  const operator = await ws.cli(["alerts", "render", "--format", "prometheusrule"]);
  assert.equal(operator.code, 0);
  const document = parse(operator.stdout) as { kind: string; spec: unknown };
  assert.equal(document.kind, "PrometheusRule");
  const specFile = join(ws.dir, "spec.yml");
  await writeFile(specFile, stringify(document.spec));
  const specCheck = await promtool(["check", "rules", specFile]);
  assert.equal(specCheck.code, 0, specCheck.output);

  const bad = await ws.cli(["alerts", "render", "--format", "nagios"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /expected rules or prometheusrule/);
});

test(
  "promtool test rules: each alert fires when it should and stays quiet when it should not",
  { skip },
  async () => {
    const rulesFile = join(ws.dir, "rules.yml");
    assert.equal((await ws.cli(["alerts", "render", "--out", rulesFile])).code, 0);
    const rules = (
      parse(await readFile(rulesFile, "utf8")) as { groups: { rules: Rule[] }[] }
    ).groups.flatMap((group) => group.rules);
    const expect = (alert: string, source: string | null, extra: Record<string, string> = {}) => {
      const rule = rules.find(
        (candidate) =>
          candidate.alert === alert && (source === null || candidate.labels["source"] === source),
      )!;
      assert.ok(rule, `${alert} ${source}`);
      return { exp_labels: { ...rule.labels, ...extra }, exp_annotations: rule.annotations };
    };
    const series = (name: string, values: string, labels: Record<string, string> = { source: "app" }) => ({
      series: `${name}{${Object.entries({ job: "lifeboat", ...labels })
        .map(([k, v]) => `${k}="${v}"`)
        .join(",")}}`,
      values,
    });
    const up = series("lifeboat_repository_up", "1x400", {});
    const fresh = series("lifeboat_status_generated_timestamp_seconds", "0+60x400", {});
    const job = { job: "lifeboat" };
    const app = { job: "lifeboat", source: "app" };
    const tests = [
      {
        name: "a backup at t=0 with an RPO of 1h: quiet at 30m, stale from 65m (for 5m)",
        interval: "1m",
        input_series: [up, fresh, series("lifeboat_backup_last_success_timestamp_seconds", "0x400")],
        alert_rule_test: [
          { eval_time: "30m", alertname: "LifeboatBackupStale", exp_alerts: [] },
          {
            eval_time: "70m",
            alertname: "LifeboatBackupStale",
            exp_alerts: [expect("LifeboatBackupStale", "app", app)],
          },
          { eval_time: "70m", alertname: "LifeboatBackupFailed", exp_alerts: [] },
          { eval_time: "70m", alertname: "LifeboatStatusMissing", exp_alerts: [] },
          { eval_time: "70m", alertname: "LifeboatRepositoryDown", exp_alerts: [] },
        ],
      },
      {
        name: "never backed up while the repository is readable: stale",
        interval: "1m",
        input_series: [up, fresh],
        alert_rule_test: [
          {
            eval_time: "10m",
            alertname: "LifeboatBackupStale",
            exp_alerts: [expect("LifeboatBackupStale", "app", job)],
          },
        ],
      },
      {
        name: "a failure newer than the last success fires; one older does not",
        interval: "1m",
        input_series: [
          up,
          fresh,
          series("lifeboat_backup_last_success_timestamp_seconds", "0x20 1500x20"),
          series("lifeboat_backup_last_failure_timestamp_seconds", "_x10 600x30"),
        ],
        alert_rule_test: [
          { eval_time: "5m", alertname: "LifeboatBackupFailed", exp_alerts: [] },
          {
            eval_time: "15m",
            alertname: "LifeboatBackupFailed",
            exp_alerts: [expect("LifeboatBackupFailed", "app", app)],
          },
          { eval_time: "30m", alertname: "LifeboatBackupFailed", exp_alerts: [] },
        ],
      },
      {
        name: "a failure with no success at all fires",
        interval: "1m",
        input_series: [up, fresh, series("lifeboat_backup_last_failure_timestamp_seconds", "60x20")],
        alert_rule_test: [
          {
            eval_time: "5m",
            alertname: "LifeboatBackupFailed",
            exp_alerts: [expect("LifeboatBackupFailed", "app", app)],
          },
        ],
      },
      {
        name: "drills: failed, overdue (interval 2h, for 1h), RTO over 5m",
        interval: "1m",
        input_series: [
          up,
          fresh,
          series("lifeboat_drill_last_passed", "1x20 0x20"),
          series("lifeboat_drill_last_success_timestamp_seconds", "0x400"),
          series("lifeboat_drill_rto_achieved_seconds", "100x20 400x20"),
        ],
        alert_rule_test: [
          { eval_time: "10m", alertname: "LifeboatDrillFailed", exp_alerts: [] },
          {
            eval_time: "30m",
            alertname: "LifeboatDrillFailed",
            exp_alerts: [expect("LifeboatDrillFailed", "app", app)],
          },
          { eval_time: "10m", alertname: "LifeboatRtoOverObjective", exp_alerts: [] },
          {
            eval_time: "30m",
            alertname: "LifeboatRtoOverObjective",
            exp_alerts: [expect("LifeboatRtoOverObjective", "app", app)],
          },
          { eval_time: "2h30m", alertname: "LifeboatDrillOverdue", exp_alerts: [] },
          {
            eval_time: "3h5m",
            alertname: "LifeboatDrillOverdue",
            exp_alerts: [expect("LifeboatDrillOverdue", "app", app)],
          },
        ],
      },
      {
        name: "never drilled while the repository is readable: overdue after its hour of grace",
        interval: "1m",
        input_series: [up, fresh, series("lifeboat_backup_last_success_timestamp_seconds", "0+60x400")],
        alert_rule_test: [
          { eval_time: "30m", alertname: "LifeboatDrillOverdue", exp_alerts: [] },
          {
            eval_time: "70m",
            alertname: "LifeboatDrillOverdue",
            exp_alerts: [expect("LifeboatDrillOverdue", "app", job)],
          },
          { eval_time: "70m", alertname: "LifeboatDrillFailed", exp_alerts: [] },
          { eval_time: "70m", alertname: "LifeboatRtoOverObjective", exp_alerts: [] },
          { eval_time: "70m", alertname: "LifeboatBackupStale", exp_alerts: [] },
        ],
      },
      {
        name: "a textfile written once at t=0: status missing once older than 1h (the RPO), for 15m",
        interval: "1m",
        input_series: [up, series("lifeboat_status_generated_timestamp_seconds", "0x200", {})],
        alert_rule_test: [
          { eval_time: "50m", alertname: "LifeboatStatusMissing", exp_alerts: [] },
          { eval_time: "70m", alertname: "LifeboatStatusMissing", exp_alerts: [] },
          {
            eval_time: "80m",
            alertname: "LifeboatStatusMissing",
            exp_alerts: [expect("LifeboatStatusMissing", null)],
          },
        ],
      },
      {
        name: "WAL archived at t=0 with an RPO of 1h: quiet at 30m, lagging from 65m",
        interval: "1m",
        input_series: [up, fresh, series("lifeboat_wal_last_archived_timestamp_seconds", "0x400")],
        alert_rule_test: [
          { eval_time: "30m", alertname: "LifeboatWalArchiveLagging", exp_alerts: [] },
          {
            eval_time: "70m",
            alertname: "LifeboatWalArchiveLagging",
            exp_alerts: [expect("LifeboatWalArchiveLagging", "app", app)],
          },
        ],
      },
      {
        name: "an unreadable repository, and no status at all",
        interval: "1m",
        input_series: [series("lifeboat_repository_up", "0x30", {})],
        alert_rule_test: [
          { eval_time: "3m", alertname: "LifeboatRepositoryDown", exp_alerts: [] },
          {
            eval_time: "10m",
            alertname: "LifeboatRepositoryDown",
            exp_alerts: [expect("LifeboatRepositoryDown", null, job)],
          },
          { eval_time: "10m", alertname: "LifeboatStatusMissing", exp_alerts: [] },
          {
            eval_time: "20m",
            alertname: "LifeboatStatusMissing",
            exp_alerts: [expect("LifeboatStatusMissing", null)],
          },
          { eval_time: "20m", alertname: "LifeboatBackupStale", exp_alerts: [] },
        ],
      },
    ];
    const testFile = join(ws.dir, "rules.test.yml");
    await writeFile(testFile, stringify({ rule_files: [rulesFile], evaluation_interval: "1m", tests }));
    const result = await promtool(["test", "rules", testFile]);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /SUCCESS/);
  },
);

test(
  "--json without --out carries the document; an unwritable --out is a usage error",
  { skip },
  async () => {
    const printed = await ws.cli(["alerts", "render", "--json"]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.json.out, null);
    assert.equal(printed.json.format, "rules");
    const document = parse(printed.json.document as string) as { groups: unknown[] };
    assert.equal(document.groups.length, printed.json.groups);
    const check = join(ws.dir, "from-json.yml");
    await writeFile(check, printed.json.document as string);
    assert.equal((await promtool(["check", "rules", check])).code, 0);

    const missing = join(ws.dir, "no-such-dir");
    const failed = await ws.cli(["alerts", "render", "--out", join(missing, "rules.yml")]);
    assert.equal(failed.code, 2);
    assert.match(failed.stderr, /error \[BAD_ARGUMENT\]: --out .*cannot write it/);
    assert.ok(!(await readdir(ws.dir)).some((name) => name.endsWith(".tmp")), "no temporary file left");
  },
);
