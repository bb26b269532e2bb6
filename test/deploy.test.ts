// `lifeboat deploy` through the real CLI: the Kubernetes resources validate
// against the Kubernetes OpenAPI schemas (kubernetes-models, no cluster
// needed), carry Secret references and never a secret's value, and `--check`
// reports exactly what drifted; the systemd units pass `systemd-analyze
// verify` and their OnCalendar= expressions `systemd-analyze calendar`; the
// GitHub Actions workflow runs the drill schedules and uploads the reports.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdir, readFile, writeFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { ConfigMap, Service, ServiceAccount } from "kubernetes-models/v1";
import { CronJob } from "kubernetes-models/batch/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { parse, parseAllDocuments, stringify } from "yaml";
import { workspace } from "./support/cli.ts";

const run = promisify(execFile);
// Parsed manifests are checked field by field below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type Workspace = Awaited<ReturnType<typeof workspace>>;
let ws: Workspace;
const password = "deploy-test-password-never-rendered";

before(async () => {
  ws = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  uploads: { engine: files, path: "${dir}/uploads" }
schedules:
  nightly: { cron: "0 2 * * *", run: backup, sources: [uploads], max_runtime: 2h, jitter: 5m }
  quarterly-drill: { cron: "0 3 1 */3 *", run: drill, timezone: Europe/Berlin }
  weekly-check: { cron: "30 4 * * 1-5", run: check, read_data_subset: 10% }
  retention: { every: 6h, run: forget, catch_up: false }
`,
    password,
  );
});
after(() => ws.cleanup());

const validators: Record<string, (value: object) => { validate(): void }> = {
  CronJob: (value) => new CronJob(value as never),
  ConfigMap: (value) => new ConfigMap(value as never),
  ServiceAccount: (value) => new ServiceAccount(value as never),
  Deployment: (value) => new Deployment(value as never),
  Service: (value) => new Service(value as never),
};

test("kubernetes: every resource validates; CronJobs as the contract says; Secret references only", async () => {
  const result = await ws.cli([
    "deploy",
    "kubernetes",
    "--serve",
    "--image",
    "registry.example/lifeboat:1",
    "--namespace",
    "dr",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(!result.stdout.includes(password), "no secret value in the manifests");
  const resources = parseAllDocuments(result.stdout).map(
    (document) => document.toJS() as { kind: string; metadata: { name: string }; spec?: Json },
  );
  const kinds = resources.map((resource) => `${resource.kind}/${resource.metadata.name}`);
  assert.deepEqual(kinds, [
    "ServiceAccount/lifeboat",
    "ConfigMap/lifeboat-config",
    "CronJob/lifeboat-nightly",
    "CronJob/lifeboat-quarterly-drill",
    "CronJob/lifeboat-weekly-check",
    "CronJob/lifeboat-retention",
    "Deployment/lifeboat-serve",
    "Service/lifeboat-serve",
    "ServiceMonitor/lifeboat",
  ]);
  for (const resource of resources) {
    const validator = validators[resource.kind];
    if (validator)
      assert.doesNotThrow(() => validator(resource).validate(), `${resource.kind}/${resource.metadata.name}`);
  }
  const nightly = resources.find((resource) => resource.metadata.name === "lifeboat-nightly")!;
  assert.equal(nightly.spec.schedule, "0 2 * * *");
  assert.equal(nightly.spec.concurrencyPolicy, "Forbid");
  assert.equal(nightly.spec.jobTemplate.spec.activeDeadlineSeconds, 7200);
  assert.equal(nightly.spec.jobTemplate.spec.backoffLimit, 0);
  const container = nightly.spec.jobTemplate.spec.template.spec.containers[0];
  assert.deepEqual(container.args, ["-c", "/etc/lifeboat/lifeboat.yaml", "backup", "uploads"]);
  assert.deepEqual(container.env[0], {
    name: "LIFEBOAT_PASSWORD",
    valueFrom: { secretKeyRef: { name: "lifeboat", key: "LIFEBOAT_PASSWORD" } },
  });
  const drill = resources.find((resource) => resource.metadata.name === "lifeboat-quarterly-drill")!;
  assert.equal(drill.spec.timeZone, "Europe/Berlin");
  const retention = resources.find((resource) => resource.metadata.name === "lifeboat-retention")!;
  assert.equal(retention.spec.schedule, "0 */6 * * *", "every: 6h as cron");
  assert.equal(retention.spec.startingDeadlineSeconds, 60, "catch_up: false");
  const configMap = resources.find((resource) => resource.kind === "ConfigMap") as unknown as {
    data: Record<string, string>;
  };
  assert.equal(configMap.data["lifeboat.yaml"], await readFile(ws.configFile, "utf8"));
});

test("kubernetes --check: clean against its own output, then names each drifted field and a missing CronJob", async () => {
  const dir = join(ws.dir, "deployed");
  assert.equal((await ws.cli(["deploy", "kubernetes", "--out", dir])).code, 0);
  const clean = await ws.cli(["deploy", "kubernetes", "--check", dir, "--json"]);
  assert.equal(clean.code, 0, clean.stdout);
  assert.deepEqual(clean.json.differences, []);

  const file = join(dir, "lifeboat.yaml");
  const documents = parseAllDocuments(await readFile(file, "utf8")).map((document) => document.toJS());
  const nightly = documents.find((resource) => resource.metadata.name === "lifeboat-nightly");
  nightly.spec.schedule = "0 5 * * *";
  nightly.metadata.annotations = { "team.example/owner": "ops" }; // a team's own annotation is not drift
  const kept = documents.filter((resource) => resource.metadata.name !== "lifeboat-weekly-check");
  await writeFile(file, kept.map((resource) => `---\n${stringify(resource)}`).join(""));
  const drifted = await ws.cli(["deploy", "kubernetes", "--check", dir]);
  assert.equal(drifted.code, 6, drifted.stderr);
  assert.match(
    drifted.stdout,
    /CronJob\/lifeboat-nightly: \.spec\.schedule is "0 5 \* \* \*", lifeboat.yaml says "0 2 \* \* \*"/,
  );
  assert.match(drifted.stdout, /CronJob\/lifeboat-weekly-check: missing/);
  assert.doesNotMatch(drifted.stdout, /annotations/);
});

test("kubernetes --kustomize: one file per resource and a kustomization listing them", async () => {
  const dir = join(ws.dir, "base");
  assert.equal((await ws.cli(["deploy", "kubernetes", "--kustomize", "--out", dir])).code, 0);
  const kustomization = parse(await readFile(join(dir, "kustomization.yaml"), "utf8")) as {
    resources: string[];
  };
  assert.deepEqual(
    kustomization.resources.sort(),
    (await readdir(dir)).filter((name) => name !== "kustomization.yaml").sort(),
  );
  assert.ok(kustomization.resources.includes("cronjob-lifeboat-nightly.yaml"));
});

test("a schedule Kubernetes cannot express is refused with the schedule named", async () => {
  const seconds = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources: {}
schedules:
  fast: { cron: "*/5 * * * * *", run: check }
  odd: { every: 7m, run: check }
`,
  );
  try {
    const result = await seconds.cli(["deploy", "kubernetes"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /schedule fast: cron "\*\/5 \* \* \* \* \*" has 6 fields/);
  } finally {
    await seconds.cleanup();
  }
});

test("systemd: units pass systemd-analyze verify, timers' calendars parse, no secret in a unit", async () => {
  const dir = join(ws.dir, "units");
  const result = await ws.cli(["deploy", "systemd", "--out", dir, "--lifeboat", process.execPath]);
  assert.equal(result.code, 0, result.stderr);
  const files = (await readdir(dir)).sort();
  assert.equal(files.length, 8);
  const verify = await run("systemd-analyze", ["verify", ...files.map((name) => join(dir, name))]).then(
    (output) => ({ code: 0, text: output.stdout + output.stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      text: error.stdout + error.stderr,
    }),
  );
  assert.equal(verify.code, 0, verify.text);
  assert.doesNotMatch(verify.text, /Failed|bad unit|Refusing/, verify.text);
  for (const name of files.filter((file) => file.endsWith(".timer"))) {
    const text = await readFile(join(dir, name), "utf8");
    const calendar = /^OnCalendar=(.*)$/m.exec(text)![1]!;
    await run("systemd-analyze", ["calendar", calendar]);
  }
  const nightly = await readFile(join(dir, "lifeboat-nightly.timer"), "utf8");
  assert.match(nightly, /^OnCalendar=\*-\*-\* 02:00:00 UTC$/m);
  assert.match(nightly, /^Persistent=true$/m);
  assert.match(nightly, /^RandomizedDelaySec=300s$/m);
  const check = await readFile(join(dir, "lifeboat-weekly-check.timer"), "utf8");
  assert.match(check, /^OnCalendar=Mon\.\.Fri \*-\*-\* 04:30:00 UTC$/m);
  const service = await readFile(join(dir, "lifeboat-nightly.service"), "utf8");
  assert.match(service, /^ProtectSystem=strict$/m);
  assert.match(service, /^TimeoutStartSec=7200s$/m);
  for (const name of files) assert.ok(!(await readFile(join(dir, name), "utf8")).includes(password));
  await rm(dir, { recursive: true });
});

test("github-actions: the drill schedules, the secret by reference, the reports uploaded even on failure", async () => {
  const out = join(ws.dir, "drill.yml");
  assert.equal((await ws.cli(["deploy", "github-actions", "--out", out])).code, 0);
  const text = await readFile(out, "utf8");
  assert.ok(!text.includes(password));
  const workflow = parse(text) as {
    on: { schedule: { cron: string }[] };
    jobs: { drill: { steps: Record<string, Json>[] } };
  };
  assert.deepEqual(workflow.on.schedule, [{ cron: "0 3 1 */3 *" }]);
  const steps = workflow.jobs.drill.steps;
  const drill = steps.find((step) => step["name"] === "Drill")!;
  assert.equal(drill["env"].LIFEBOAT_PASSWORD, "${{ secrets.LIFEBOAT_PASSWORD }}");
  const upload = steps.find((step) => String(step["uses"]).startsWith("actions/upload-artifact"))!;
  assert.equal(upload["if"], "always()");
});
