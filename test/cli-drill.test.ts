// Drills end to end through the CLI with local sources: passing drills, a
// failing SQL check, a missed objective, a tampered snapshot, keep_on_failure,
// a scratch place inside the source, notifications to a real HTTP receiver,
// and SIGTERM mid-restore leaving no scratch behind.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { cliPath, workspace } from "./support/cli.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;

const received: { path: string; body: Record<string, unknown> }[] = [];
const receiver = createServer(async (request, response) => {
  let text = "";
  for await (const chunk of request) text += chunk;
  received.push({ path: request.url ?? "", body: JSON.parse(text) });
  response.writeHead(200).end("ok");
});

function config(dir: string, port: number): string {
  return `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
reports: { dir: "${dir}/reports" }
notify:
  - webhook: "http://127.0.0.1:${port}/hooks/lifeboat"
    on: always
  - slack_webhook_env: TEST_SLACK_URL
    on: failure
sources:
  app-sqlite:
    engine: sqlite
    path: "${dir}/app.db"
    objectives: { rto: 15m, rpo: 24h }
    drill:
      target: { path: "${dir}/scratch" }
      checks:
        - sql: "select count(*) > 0 from bookings"
        - expect_rows: { table: bookings, min: 100 }
  failing-check:
    engine: sqlite
    path: "${dir}/app.db"
    drill:
      target: { path: "${dir}/scratch" }
      keep_on_failure: true
      checks:
        - sql: "select count(*) > 1000000 from bookings"
  impatient:
    engine: sqlite
    path: "${dir}/app.db"
    objectives: { rto: 1ms }
    drill: { target: { path: "${dir}/scratch" } }
  rowless-db:
    engine: sqlite
    path: "${dir}/rowless.db"
    drill: { target: { path: "${dir}/scratch" } }
  hollow-tree:
    engine: files
    path: "${dir}/hollow"
    drill: { target: { path: "${dir}/scratch" } }
  empty-db:
    engine: sqlite
    path: "${dir}/empty.db"
    drill: { target: { path: "${dir}/scratch" } }
  uploads:
    engine: files
    path: "${dir}/uploads"
    objectives: { rto: 15m, rpo: 24h }
    drill: { target: { path: "${dir}/scratch" } }
  inside-source:
    engine: files
    path: "${dir}/uploads"
    drill: { target: { path: "${dir}/uploads/drills" } }
  big-tree:
    engine: files
    path: "${dir}/big"
    drill: { target: { path: "${dir}/scratch" } }
`;
}

describe("lifeboat drill", () => {
  let ws: Workspace;
  const slackEnv = () => ({
    TEST_SLACK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/services/T0/B0/xyz`,
  });
  const drill = (args: string[]) => ws.cli(["drill", ...args, "--json"], slackEnv());
  const scratchEntries = async () =>
    existsSync(join(ws.dir, "scratch")) ? readdir(join(ws.dir, "scratch")) : [];

  before(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    ws = await workspace((dir) => config(dir, (receiver.address() as AddressInfo).port));
    const db = new DatabaseSync(join(ws.dir, "app.db"));
    db.exec("CREATE TABLE bookings (id INTEGER PRIMARY KEY, note TEXT)");
    const insert = db.prepare("INSERT INTO bookings (note) VALUES (?)");
    for (let i = 0; i < 500; i++) insert.run(`booking ${i}`);
    db.close();
    new DatabaseSync(join(ws.dir, "empty.db")).close();
    const rowless = new DatabaseSync(join(ws.dir, "rowless.db"));
    rowless.exec("CREATE TABLE a (x); CREATE TABLE b (y)");
    rowless.close();
    await mkdir(join(ws.dir, "hollow", "x", "y"), { recursive: true });
    await mkdir(join(ws.dir, "uploads", "a"), { recursive: true });
    await writeFile(join(ws.dir, "uploads", "a", "photo.jpg"), randomBytes(100_000));
    await mkdir(join(ws.dir, "big"));
    for (let i = 0; i < 24; i++)
      await writeFile(join(ws.dir, "big", `blob-${i}.bin`), randomBytes(4 * 1024 * 1024));
    assert.equal((await ws.cli(["init"])).code, 0);
    const backup = await ws.cli(["backup", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
  });
  after(async () => {
    await ws.cleanup();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  test("passing drills for sqlite and files: report, record, history, no scratch left", async () => {
    received.length = 0;
    const result = await drill(["app-sqlite"]);
    assert.equal(result.code, 0, result.stderr);
    const report = result.json;
    assert.equal(report.status, "passed");
    assert.equal(report.source, "app-sqlite");
    assert.equal(report.rto.met, true);
    assert.equal(report.rpo.met, true);
    assert.ok(report.rto.achieved > 0 && report.rto.achieved < 900);
    for (const phase of ["select", "start", "fetch", "restore", "verify", "teardown"]) {
      assert.equal(typeof report.phases[phase], "number", `phase ${phase}`);
    }
    assert.deepEqual(
      report.checks.map((check: { name: string; result: string }) => [check.name, check.result]),
      [
        ["fingerprint", "passed"],
        ["not empty", "passed"],
        ["sql: select count(*) > 0 from bookings", "passed"],
        ["expect_rows: bookings", "passed"],
      ],
    );
    const reports = await readdir(join(ws.dir, "reports"));
    const record = await readFile(
      join(
        ws.dir,
        "reports",
        reports.find((name) => name.endsWith(".md"))!,
      ),
      "utf8",
    );
    assert.match(record, /RTO target \(minutes\): 15\.00/);
    assert.match(record, /Validation results:/);
    assert.deepEqual(await scratchEntries(), []);
    // Webhook always, Slack only on failure.
    assert.deepEqual(
      received.map((entry) => entry.path),
      ["/hooks/lifeboat"],
    );
    assert.equal(received[0]!.body.id, report.id);

    const files = await drill(["uploads"]);
    assert.equal(files.code, 0, files.stderr);
    assert.equal(files.json.checks[0].result, "passed");
    const history = await ws.cli(["drills", "--json"]);
    assert.deepEqual(
      history.json.drills.map((entry: { source: string }) => entry.source),
      ["app-sqlite", "uploads"],
    );
  });

  test("a failing SQL check fails the drill (exit 6), keeps and names the scratch, tells Slack", async () => {
    received.length = 0;
    const result = await drill(["failing-check"]);
    assert.equal(result.code, 6, result.stderr);
    assert.equal(result.json.status, "verification_failed");
    const sql = result.json.checks.find((check: { kind: string }) => check.kind === "sql");
    assert.equal(sql.result, "failed");
    // Never recovered, so no recovery time was achieved (docs/drills.md).
    assert.deepEqual(result.json.rto, { objective: null, achieved: null, met: null });
    assert.equal(result.json.scratch.kept, true);
    assert.match(result.json.issues.join("\n"), /kept for inspection: .*remove it with: rm -rf/);
    assert.ok(
      existsSync(result.json.scratch.description.replace(/^.* (\/\S+)$/, "$1")),
      "kept scratch exists",
    );
    const slack = received.find((entry) => entry.path.startsWith("/services/"));
    assert.ok(slack, "Slack got the failure");
    assert.match(String(slack.body.text), /failing-check: verification failed/);
    assert.ok(Array.isArray(slack.body.blocks));
  });

  test("a missed objective (rto 1ms) exits 7 with the figures", async () => {
    const result = await drill(["impatient"]);
    assert.equal(result.code, 7, result.stderr);
    assert.equal(result.json.status, "objective_missed");
    assert.equal(result.json.rto.objective, 0.001);
    assert.equal(result.json.rto.met, false);
  });

  test("tables without rows and a tree of empty directories are empty restores, not passes", async () => {
    for (const name of ["rowless-db", "hollow-tree"]) {
      const result = await drill([name]);
      assert.equal(result.code, 6, `${name}: ${result.stderr}`);
      const notEmpty = result.json.checks.find((check: { kind: string }) => check.kind === "not_empty");
      assert.equal(notEmpty.result, "failed", name);
      assert.match(notEmpty.detail, name === "rowless-db" ? /0 rows in 2 tables/ : /0 files/);
    }
  });

  test("the predicted RTO compares like with like and says what it measured", async () => {
    await writeFile(join(ws.dir, "uploads", "a", "second.jpg"), randomBytes(100_000));
    try {
      const result = await drill(["uploads"]);
      assert.equal(result.code, 0, result.stderr);
      const prediction = result.json.predictedRto;
      assert.equal(prediction.measure, "bytes of regular files");
      assert.equal(prediction.snapshotBytes, 100_000);
      assert.equal(prediction.sourceBytes, 200_000);
      assert.equal(prediction.growth, 2);
      const measured = result.json.phases.fetch + result.json.phases.restore + result.json.phases.verify;
      assert.ok(Math.abs(prediction.seconds - (result.json.phases.start + 2 * measured)) < 1e-6);
    } finally {
      await rm(join(ws.dir, "uploads", "a", "second.jpg"));
    }
  });

  test("an empty database cannot pass a drill", async () => {
    const result = await drill(["empty-db"]);
    assert.equal(result.code, 6, result.stderr);
    assert.equal(
      result.json.checks.find((check: { kind: string }) => check.kind === "not_empty").result,
      "failed",
    );
  });

  test("a scratch place inside the source is refused", async () => {
    const result = await drill(["inside-source"]);
    assert.equal(result.code, 8, result.stderr);
    assert.equal(result.json.status, "error");
    assert.match(result.json.issues[0], /SCRATCH_ON_SOURCE/);
    assert.equal(existsSync(join(ws.dir, "uploads", "drills")), false);
  });

  test("a tampered snapshot fails at restore, and the report is still written", async () => {
    const dataDir = join(ws.dir, "repo", "data");
    const objects = (await readdir(dataDir, { recursive: true, withFileTypes: true })).filter((entry) =>
      entry.isFile(),
    );
    const originals = new Map<string, Buffer>();
    for (const entry of objects) {
      const file = join(entry.parentPath, entry.name);
      const bytes = await readFile(file);
      originals.set(file, bytes);
      const damaged = Buffer.from(bytes);
      // Inside the first chunk envelope, whether the object is a chunk (format 1) or a pack (format 2).
      damaged[30]! ^= 0x40;
      await writeFile(file, damaged);
    }
    try {
      const before = (await readdir(join(ws.dir, "reports"))).length;
      const result = await drill(["uploads"]);
      assert.equal(result.code, 6, result.stderr);
      assert.equal(result.json.status, "verification_failed");
      assert.match(result.json.issues.join("\n"), /CHECKSUM_MISMATCH/);
      assert.equal((await readdir(join(ws.dir, "reports"))).length, before + 2, "JSON and Markdown written");
    } finally {
      for (const [file, bytes] of originals) await writeFile(file, bytes);
    }
  });

  test("SIGTERM mid-restore tears the scratch target down", async () => {
    const scratchBefore = new Set(await scratchEntries());
    const child = spawn(process.execPath, [cliPath, "-c", ws.configFile, "drill", "big-tree"], {
      env: { ...process.env, ...ws.env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    for (let i = 0; i < 400 && !/restoring snapshot/.test(stderr); i++) await sleep(10);
    assert.match(stderr, /restoring snapshot/, "the drill reached its restore");
    child.kill("SIGTERM");
    const code = await exited;
    assert.notEqual(code, 0);
    const left = (await scratchEntries()).filter(
      (entry) => !scratchBefore.has(entry) && entry.includes("big-tree"),
    );
    assert.deepEqual(left, [], "no scratch left behind");
  });
});
