// `lifeboat serve` and the metrics against real components: a real
// Prometheus scrapes /metrics and its query API returns Lifeboat's series; a
// real Pushgateway receives a cron-style run's metrics; `promtool check
// metrics` accepts the --metrics-textfile output; /healthz/backup flips to
// 503 after a failed backup; a non-loopback bind needs a token and requests
// without it are refused; SIGTERM stops the server at once.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { workspace } from "./support/cli.ts";
import {
  queryUntil,
  startPrometheus,
  startPushgateway,
  startServe,
  type Service,
} from "./support/services.ts";

const run = promisify(execFile);
type Workspace = Awaited<ReturnType<typeof workspace>>;
let ws: Workspace;
let pushgateway: Service;

before(async () => {
  pushgateway = await startPushgateway();
  ws = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
metrics: { pushgateway: "${pushgateway.url}" }
sources:
  uploads:
    engine: files
    path: "${dir}/uploads"
    objectives: { rpo: 1h, rto: 5m }
`,
  );
  await mkdir(join(ws.dir, "uploads"));
  await writeFile(join(ws.dir, "uploads", "a.txt"), "uploaded\n");
  assert.equal((await ws.cli(["init"])).code, 0);
  const textfile = join(ws.dir, "lifeboat.prom");
  const backup = await ws.cli(["backup", "--metrics-textfile", textfile]);
  assert.equal(backup.code, 0, backup.stderr);
  assert.equal((await ws.cli(["drill"])).code, 0);
});
after(async () => {
  await pushgateway?.stop();
  await ws?.cleanup();
});

test("--metrics-textfile writes what promtool check metrics accepts, with the contract's names", async () => {
  const textfile = join(ws.dir, "lifeboat.prom");
  const text = await readFile(textfile, "utf8");
  assert.match(text, /^lifeboat_backup_last_success_timestamp_seconds\{source="uploads"\} \d+/m);
  assert.match(text, /^lifeboat_objective_rpo_seconds\{source="uploads"\} 3600$/m);
  assert.match(text, /^lifeboat_repository_up 1$/m);
  const check = await run("sh", ["-c", `promtool check metrics < ${textfile}`]).then(
    (result) => ({ code: 0, ...result }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  assert.equal(check.code, 0, `${check.stdout}${check.stderr}`);
  assert.ok(!text.includes(ws.password));
});

test("a real Pushgateway holds the metrics of a run, under job lifeboat and this host", async () => {
  const metrics = await (await fetch(`${pushgateway.url}/metrics`)).text();
  const line = metrics
    .split("\n")
    .find(
      (l) =>
        l.startsWith("lifeboat_backup_last_success_timestamp_seconds{") && l.includes('source="uploads"'),
    );
  assert.ok(line, metrics.slice(0, 2000));
  assert.ok(line.includes('job="lifeboat"') && line.includes(`instance="${hostname()}"`), line);
  const drillLine = metrics.split("\n").find((l) => l.startsWith("lifeboat_drill_last_passed{"));
  assert.ok(drillLine?.endsWith(" 1"), drillLine);
});

test("a real Prometheus scrapes lifeboat serve; /healthz/backup and /readyz answer; a failure flips health to 503", async () => {
  const serve = await startServe(ws.configFile, ws.env);
  const prometheus = await startPrometheus([new URL(serve.url).host]);
  try {
    const success = await queryUntil(
      prometheus.url,
      "lifeboat_backup_last_success_timestamp_seconds",
      (result) => result.find((series) => series.metric["source"] === "uploads"),
    );
    assert.ok(Math.abs(Number(success.value[1]) - Date.now() / 1000) < 600, "the backup's time");
    await queryUntil(prometheus.url, 'lifeboat_status_verdict{verdict="ok"}', (result) =>
      result.find((series) => series.metric["source"] === "uploads" && series.value[1] === "1"),
    );
    await queryUntil(prometheus.url, "lifeboat_drill_rto_achieved_seconds", (result) =>
      result.find((series) => Number(series.value[1]) > 0),
    );

    const healthy = await fetch(`${serve.url}/healthz/backup`);
    assert.equal(healthy.status, 200);
    assert.equal(((await healthy.json()) as { status: string }).status, "ok");
    assert.equal((await fetch(`${serve.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${serve.url}/metrics`, { method: "POST" })).status, 405, "read-only");

    await rename(join(ws.dir, "uploads"), join(ws.dir, "uploads-away"));
    try {
      assert.notEqual((await ws.cli(["backup"])).code, 0);
    } finally {
      await rename(join(ws.dir, "uploads-away"), join(ws.dir, "uploads"));
    }
    // The server caches a reading for 5 s; Prometheus sees the failure after that.
    await queryUntil(prometheus.url, 'lifeboat_status_verdict{verdict="failing"}', (result) =>
      result.find((series) => series.value[1] === "1"),
    );
    const unhealthy = await fetch(`${serve.url}/healthz/backup`);
    assert.equal(unhealthy.status, 503);
    const body = (await unhealthy.json()) as { status: string; sources: { reasons: string[] }[] };
    assert.equal(body.status, "failing");
    assert.match(body.sources[0]!.reasons.join("\n"), /SOURCE_UNREACHABLE/);
  } finally {
    await prometheus.cleanup();
    const started = Date.now();
    const code = await serve.stop("SIGTERM");
    assert.equal(code, 0, serve.output());
    assert.ok(Date.now() - started < 5000, "SIGTERM stops serve within seconds");
  }
});

test("off loopback a token is required; without it every request is 401 and the token is never printed", async () => {
  const refused = await ws.cli(["serve", "--listen", "0.0.0.0:0"]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /needs a bearer token/);
  const token = "a-long-random-token-for-this-test-0123456789";
  const serve = await startServe(ws.configFile, { ...ws.env, SERVE_TOKEN: token }, [
    "--token-env",
    "SERVE_TOKEN",
  ]).catch((error: unknown) => {
    throw error;
  });
  try {
    assert.equal((await fetch(`${serve.url}/metrics`)).status, 401);
    assert.equal((await fetch(`${serve.url}/`, { headers: { authorization: "Bearer wrong" } })).status, 401);
    const ok = await fetch(`${serve.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /lifeboat_repository_up 1/);
  } finally {
    await serve.stop();
  }
  assert.ok(!serve.output().includes(token));
});
