import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { parseConfig } from "../engines/config.ts";
import {
  alertRules,
  alertSourcesOf,
  renderPrometheusRule,
  renderRulesFile,
  ruleCount,
  statusMaxAgeSeconds,
  type AlertRule,
  type RenderedRules,
} from "./alerts.ts";

const config = parseConfig(`
repository: { url: "file:///var/backups/lifeboat", password_env: LIFEBOAT_PASSWORD }
sources:
  app-db:
    engine: postgres
    url: postgres://app@db.internal/app
    mode: both
    objectives: { rto: 15m, rpo: 1h, drill_interval: 7d }
  reports:
    engine: postgres
    url: postgres://app@db.internal/reports
    objectives: { rpo: 1d }
  uploads:
    engine: files
    path: /srv/uploads
`);

const rendered = alertRules(alertSourcesOf(config));
const names = (rules: RenderedRules, group: string) =>
  rules.groups.find((candidate) => candidate.name === group)?.rules.map((rule) => rule.alert);
const rule = (group: string, alert: string): AlertRule => {
  const found = rendered.groups
    .find((candidate) => candidate.name === group)
    ?.rules.find((candidate) => candidate.alert === alert);
  assert.ok(found, `${group}/${alert}`);
  return found;
};

test("a source with every objective gets every rule, WAL included for a physical source", () => {
  assert.deepEqual(names(rendered, "lifeboat-app-db"), [
    "LifeboatBackupFailed",
    "LifeboatBackupStale",
    "LifeboatWalArchiveLagging",
    "LifeboatDrillFailed",
    "LifeboatDrillOverdue",
    "LifeboatRtoOverObjective",
  ]);
  assert.deepEqual(names(rendered, "lifeboat-repository"), [
    "LifeboatRepositoryDown",
    "LifeboatStatusMissing",
  ]);
  assert.equal(ruleCount(rendered), 2 + 6 + 3 + 2);
});

test("the objectives are literal thresholds in the expressions", () => {
  assert.match(rule("lifeboat-app-db", "LifeboatBackupStale").expr, /> 3600\)/);
  assert.match(rule("lifeboat-app-db", "LifeboatWalArchiveLagging").expr, /> 3600$/);
  assert.match(rule("lifeboat-app-db", "LifeboatDrillOverdue").expr, /> 604800\)/);
  assert.match(rule("lifeboat-app-db", "LifeboatRtoOverObjective").expr, /> 900$/);
  assert.match(rule("lifeboat-reports", "LifeboatBackupStale").expr, /> 86400\)/);
  for (const group of rendered.groups.slice(1)) {
    const source = group.name.replace(/^lifeboat-/, "");
    for (const each of group.rules) {
      assert.equal(each.labels["source"], source);
      assert.ok(each.expr.includes(`{source="${source}"}`), `${each.alert} selects ${source}`);
      assert.match(each.annotations.description, /`lifeboat [a-z]+/, `${each.alert} says what to run`);
    }
  }
});

test("rules whose objective is undeclared are skipped, and the skip is said", () => {
  // reports: logical postgres with only an RPO; uploads: no objectives at all.
  assert.deepEqual(names(rendered, "lifeboat-reports"), [
    "LifeboatBackupFailed",
    "LifeboatBackupStale",
    "LifeboatDrillFailed",
  ]);
  assert.deepEqual(names(rendered, "lifeboat-uploads"), ["LifeboatBackupFailed", "LifeboatDrillFailed"]);
  assert.deepEqual(rendered.skipped, [
    "reports: LifeboatDrillOverdue needs objectives.drill_interval",
    "reports: LifeboatRtoOverObjective needs objectives.rto",
    "uploads: LifeboatBackupStale needs objectives.rpo",
    "uploads: LifeboatDrillOverdue needs objectives.drill_interval",
    "uploads: LifeboatRtoOverObjective needs objectives.rto",
  ]);
  const file = renderRulesFile(rendered);
  assert.match(file, /^# not rendered: uploads: LifeboatBackupStale needs objectives\.rpo$/m);
});

test("a physical source without an RPO loses both RPO rules", () => {
  const rules = alertRules([{ name: "pg", objectives: { rto: "5m" }, archivesWal: true }]);
  assert.deepEqual(rules.skipped, [
    "pg: LifeboatBackupStale and LifeboatWalArchiveLagging need objectives.rpo",
    "pg: LifeboatDrillOverdue needs objectives.drill_interval",
  ]);
});

test("'never' counts for staleness and drills, but only while the repository is readable", () => {
  for (const alert of ["LifeboatBackupStale", "LifeboatDrillOverdue"]) {
    assert.match(
      rule("lifeboat-app-db", alert).expr,
      /\(lifeboat_repository_up == 1 unless on\(\) lifeboat_/,
    );
  }
  assert.match(
    rule("lifeboat-app-db", "LifeboatBackupFailed").expr,
    /unless on\(source\) lifeboat_backup_last_success_timestamp_seconds/,
  );
});

test("status may be as old as the longest RPO, never less than an hour", () => {
  assert.equal(statusMaxAgeSeconds(alertSourcesOf(config)), 86400);
  assert.equal(statusMaxAgeSeconds([{ name: "a", objectives: { rpo: "15m" }, archivesWal: false }]), 3600);
  assert.equal(statusMaxAgeSeconds([]), 3600);
  assert.match(rule("lifeboat-repository", "LifeboatStatusMissing").expr, /> 86400\)$/);
});

test("both renderings carry the same groups; the PrometheusRule is a monitoring.coreos.com/v1 object", () => {
  const plain = parse(renderRulesFile(rendered)) as { groups: unknown };
  const operator = parse(renderPrometheusRule(rendered, { labels: { release: "prometheus" } })) as {
    apiVersion: string;
    kind: string;
    metadata: { name: string; labels: Record<string, string> };
    spec: { groups: unknown };
  };
  assert.deepEqual(plain.groups, JSON.parse(JSON.stringify(rendered.groups)));
  assert.deepEqual(operator.spec.groups, plain.groups);
  assert.equal(operator.apiVersion, "monitoring.coreos.com/v1");
  assert.equal(operator.kind, "PrometheusRule");
  assert.equal(operator.metadata.name, "lifeboat");
  assert.deepEqual(operator.metadata.labels, { "app.kubernetes.io/name": "lifeboat", release: "prometheus" });
});

test("a config without sources still renders the repository rules", () => {
  const rules = alertRules([]);
  assert.deepEqual(
    rules.groups.map((group) => group.name),
    ["lifeboat-repository"],
  );
  assert.equal(ruleCount(rules), 2);
});
