// `lifeboat alerts render` checked by the real promtool (Debian package
// prometheus): both formats pass `promtool check rules`, and `promtool test
// rules` proves every alert fires when its objective is broken and stays
// quiet while it holds, on series named as docs/metrics.md says.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { parse, stringify } from "yaml";
import { workspace } from "./support/cli.ts";

const run = promisify(execFile);
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
    const result = await run("promtool", args);
    return { code: 0, output: result.stdout + result.stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, output: failure.stdout + failure.stderr };
  }
}

test("both formats pass promtool check rules; rules need their objectives", async () => {
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

test("promtool test rules: each alert fires when it should and stays quiet when it should not", async () => {
  const rulesFile = join(ws.dir, "rules.yml");
  assert.equal((await ws.cli(["alerts", "render", "--out", rulesFile])).code, 0);
  const rules = (
    parse(await (await import("node:fs/promises")).readFile(rulesFile, "utf8")) as {
      groups: { rules: Rule[] }[];
    }
  ).groups.flatMap((group) => group.rules);
  const expect = (alert: string, source: string | null, extra: Record<string, string> = {}) => {
    const rule = rules.find(
      (candidate) => candidate.alert === alert && (source === null || candidate.labels["source"] === source),
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
});
