// User checks against real things: an HTTP server on localhost, a shell,
// a SQLite scratch file.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, test } from "node:test";
import { sqliteEngine } from "../engines/sqlite/index.ts";
import type { CheckEnvironment } from "./checks.ts";
import { fingerprintChecks, runUserCheck } from "./checks.ts";
import { silentLogger } from "../runtime/logger.ts";
import { processRunner } from "../runtime/process.ts";

const server = createServer((request, response) => {
  if (request.url === "/readyz") {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ status: "ok", database: { migrations_current: true, version: 42 } }));
  } else response.writeHead(503).end("down");
});

describe("drill checks", () => {
  let base = "";
  let dir = "";
  let env: CheckEnvironment;

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = await mkdtemp(join(tmpdir(), "lifeboat-checks-"));
    const target = join(dir, "scratch.db");
    const db = new DatabaseSync(target);
    db.exec("CREATE TABLE bookings (id INTEGER PRIMARY KEY); INSERT INTO bookings VALUES (1), (2), (3);");
    db.close();
    env = {
      engine: sqliteEngine,
      scratch: {
        target,
        description: "test scratch",
        env: { LIFEBOAT_TARGET: target },
        destroy: async () => {},
      },
      fingerprint: { counts: { "rows:bookings": 3, "objects:tables": 1 }, hashes: {} },
      context: { runner: processRunner, log: silentLogger, tempDir: dir },
    };
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  test("sql: true passes, false fails, a broken query is an error", async () => {
    assert.equal((await runUserCheck({ sql: "select count(*) = 3 from bookings" }, env)).result, "passed");
    assert.equal((await runUserCheck({ sql: "select count(*) > 3 from bookings" }, env)).result, "failed");
    const broken = await runUserCheck({ sql: "select * from no_such_table" }, env);
    assert.equal(broken.result, "error");
    assert.match(broken.detail, /no_such_table/);
  });

  test("http: status and a JSON field", async () => {
    const ok = await runUserCheck(
      {
        http: {
          url: `${base}/readyz`,
          status: 200,
          json_field: "database.migrations_current",
          timeout: "5s",
        },
      },
      env,
    );
    assert.equal(ok.result, "passed", ok.detail);
    const wrongValue = await runUserCheck(
      {
        http: {
          url: `${base}/readyz`,
          status: 200,
          json_field: "database.version",
          equals: 43,
          timeout: "5s",
        },
      },
      env,
    );
    assert.equal(wrongValue.result, "failed");
    assert.match(wrongValue.detail, /42/);
    const down = await runUserCheck({ http: { url: `${base}/other`, status: 200, timeout: "5s" } }, env);
    assert.equal(down.result, "failed");
    assert.match(down.detail, /status 503/);
  });

  test("command: runs with the scratch target in its environment", async () => {
    const ok = await runUserCheck({ command: 'test -f "$LIFEBOAT_TARGET"', timeout: "30s" }, env);
    assert.equal(ok.result, "passed", ok.detail);
    const failed = await runUserCheck({ command: "echo nope >&2; exit 3", timeout: "30s" }, env);
    assert.equal(failed.result, "failed");
    assert.match(failed.detail, /exit 3: nope/);
    const slow = await runUserCheck({ command: "sleep 5", timeout: "200ms" }, env);
    assert.equal(slow.result, "failed");
    assert.match(slow.detail, /timeout/);
  });

  test("command: sees the scratch target and the base environment, never Lifeboat's secrets", async () => {
    const secrets = {
      LIFEBOAT_PASSWORD: "repo-password-checks-test",
      PGPASSWORD: "pg-password-checks-test",
      SLACK_WEBHOOK_URL: "https://hooks.slack.example/services/T0/B0/checks-test",
    };
    Object.assign(process.env, secrets);
    try {
      const dump = join(dir, "env.txt");
      const result = await runUserCheck(
        { command: `env > ${dump}; echo "$PGPASSWORD"`, timeout: "30s" },
        env,
      );
      assert.equal(result.result, "passed", result.detail);
      const seen = await readFile(dump, "utf8");
      assert.match(seen, /^LIFEBOAT_TARGET=.*scratch\.db$/m);
      assert.match(seen, /^PATH=/m);
      for (const [name, value] of Object.entries(secrets)) {
        assert.ok(!seen.includes(value) && !seen.includes(`${name}=`), `${name} reached the check:\n${seen}`);
      }
    } finally {
      for (const name of Object.keys(secrets)) delete process.env[name];
    }
  });

  test("command: what a check prints is redacted before it reaches the report", async () => {
    const result = await runUserCheck(
      { command: "echo connect postgres://app:hunter22@db/shop; exit 1", timeout: "30s" },
      env,
    );
    assert.equal(result.result, "failed");
    assert.match(result.detail, /postgres:\/\/app:\*\*\*@db\/shop/);
    assert.ok(!result.detail.includes("hunter22") && !result.name.includes("hunter22"), result.detail);
  });

  test("command: a timeout kills the whole process group, not only the shell", async () => {
    const marker = `${20 + Math.random()}`; // a unique sleep to look for afterwards
    const started = Date.now();
    const slow = await runUserCheck({ command: `sh -c 'sleep ${marker}'; echo never`, timeout: "1s" }, env);
    const seconds = (Date.now() - started) / 1000;
    assert.equal(slow.result, "failed");
    assert.match(slow.detail, /timeout 1s/);
    assert.ok(seconds < 10, `the check returned after ${seconds}s`);
    assert.deepEqual(processesRunning(`sleep ${marker}`), []);
  });

  test("command: an interrupted drill kills the check's processes", async () => {
    const marker = `${20 + Math.random()}`;
    const controller = new AbortController();
    const context = { ...env.context, signal: controller.signal };
    const started = Date.now();
    const running = runUserCheck({ command: `sleep ${marker} & wait`, timeout: "5m" }, { ...env, context });
    setTimeout(() => controller.abort(), 300);
    const outcome = await running;
    assert.equal(outcome.result, "failed");
    assert.match(outcome.detail, /interrupted/);
    assert.ok(Date.now() - started < 10_000);
    assert.deepEqual(processesRunning(`sleep ${marker}`), []);
  });

  test("expect_rows reads the restored fingerprint", async () => {
    assert.equal(
      (await runUserCheck({ expect_rows: { table: "bookings", equals: 3 } }, env)).result,
      "passed",
    );
    assert.equal((await runUserCheck({ expect_rows: { table: "bookings", min: 4 } }, env)).result, "failed");
    assert.equal((await runUserCheck({ expect_rows: { table: "leads", min: 0 } }, env)).result, "failed");
  });

  test("fingerprint checks: a difference fails, an empty restore fails", () => {
    const expected = { counts: { "rows:bookings": 3, "objects:tables": 1 }, hashes: {} };
    assert.deepEqual(
      fingerprintChecks(expected, expected).map((check) => check.result),
      ["passed", "passed"],
    );
    const missingRows = fingerprintChecks(expected, {
      counts: { "rows:bookings": 2, "objects:tables": 1 },
      hashes: {},
    });
    assert.equal(missingRows[0]!.result, "failed");
    assert.match(missingRows[0]!.detail, /rows:bookings: expected 3, found 2/);
    const empty = { counts: { "objects:tables": 0 }, hashes: {} };
    assert.equal(fingerprintChecks(empty, empty)[1]!.result, "failed");
  });
});

/** Pids of live processes whose command line is exactly `command` (zombies count as ended). */
function processesRunning(command: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim();
      const state = /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${entry}/stat`, "utf8"))?.[1];
      if (cmdline === command && state !== "Z") found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}
