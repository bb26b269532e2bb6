// Readiness ends the RTO (issue 16, item 3), end to end through the CLI: a
// local HTTP server plays the restored application. An after_restore hook
// "restarts" it (arms a key); from then on it answers 503 (or a JSON body
// whose field is false) for a while, then 200 with migrations_current: true.
// Drills and `lifeboat restore` must put that wait into the `ready` phase
// and the RTO, fail at a probe's budget, name a failing or hanging hook, and
// never show a secret from a URL. A point-in-time restore runs them too.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { parseConfig } from "../src/engines/config.ts";
import { cliPath, workspace } from "./support/cli.ts";
import { freePort } from "./support/pg-cluster.ts";
import { startPitrSetup, stopRestored, type PitrSetup } from "./support/pitr.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;

/** key -> when its hook armed it; how long each key stays unready after that, and how it shows it. */
const armedAt = new Map<string, number>();
const unready: Record<string, { ms: number; mode: "503" | "false" }> = {
  warm: { ms: 3000, mode: "503" },
  flag: { ms: 1500, mode: "false" },
};
const requests = new Map<string, number>();

const app = createServer((request, response) => {
  const [, kind, key = ""] = (request.url ?? "").split("/");
  requests.set(key, (requests.get(key) ?? 0) + 1);
  if (kind === "arm") {
    armedAt.set(key, Date.now());
    response.writeHead(200).end("armed");
    return;
  }
  const json = (status: number, current: boolean) =>
    response.writeHead(status, { "content-type": "application/json" }).end(
      JSON.stringify({
        status: status === 200 ? "ok" : "starting",
        database: { migrations_current: current },
      }),
    );
  if (key === "never" || key === "patient") return json(503, false);
  if (key === "hang") return; // never answers
  if (key === "auth") {
    const expected = `Basic ${Buffer.from("probe:s3cretpass").toString("base64")}`;
    return json(request.headers.authorization === expected ? 200 : 401, true);
  }
  const since = armedAt.get(key);
  const rule = unready[key];
  if (since === undefined || !rule || Date.now() - since >= rule.ms) return json(200, true);
  return rule.mode === "503" ? json(503, false) : json(200, false);
});

function config(dir: string, port: number): string {
  const base = `http://127.0.0.1:${port}`;
  const arm = (key: string) =>
    `${process.execPath} -e "fetch(process.argv[1]).then(r=>r.text())" ${base}/arm/${key}`;
  const sqlite = `engine: sqlite
    path: "${dir}/app.db"
    drill: { target: { path: "${dir}/scratch" } }`;
  return `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
reports: { dir: "${dir}/reports" }
sources:
  warm:
    ${sqlite}
    objectives: { rto: 15m }
    after_restore:
      - command: 'echo "$RESTORE_TARGET" > "${dir}/warm-hook-saw" && ${arm("warm")}'
    ready:
      - http: { url: "${base}/app/warm", json_field: database.migrations_current, equals: true }
        interval: 200ms
        timeout: 30s
  never:
    ${sqlite}
    ready:
      - http: { url: "${base}/app/never" }
        interval: 200ms
        timeout: 2s
  flag:
    ${sqlite}
    after_restore:
      - command: '${arm("flag")}'
    ready:
      - http: { url: "${base}/app/flag", json_field: database.migrations_current, equals: true }
        interval: 100ms
        timeout: 20s
      - tcp: "127.0.0.1:${port}"
        interval: 100ms
  patient:
    ${sqlite}
    ready:
      - http: { url: "${base}/app/patient" }
        interval: 200ms
        timeout: 10m
  hook-fails:
    ${sqlite}
    after_restore:
      - command: 'echo "error: alembic upgrade head failed" >&2; exit 3'
      - command: 'touch "${dir}/second-hook-ran"'
    ready:
      - http: { url: "${base}/app/ok" }
  hook-hangs:
    ${sqlite}
    after_restore:
      - command: 'sleep 30 & echo $! > "${dir}/hang.pid"; wait'
        timeout: 1s
  hanging-server:
    ${sqlite}
    ready:
      - http: { url: "${base}/app/hang" }
        interval: 500ms
        timeout: 2s
  authed:
    ${sqlite}
    ready:
      - http: { url: "http://probe:s3cretpass@127.0.0.1:${port}/app/auth" }
        timeout: 5s
  secret:
    ${sqlite}
    after_restore:
      - command: 'true postgres://app:hunter2secret@db.internal/app'
    ready:
      - http: { url: "http://probe:s3cretpass@127.0.0.1:${port}/app/never" }
        timeout: 1s
      - command: 'echo "cannot reach postgres://app:hunter2secret@db.internal/app"; exit 1'
        timeout: 1s
groups:
  pair: [flag, never]
`;
}

/** Is the process alive? A zombie is not: it was killed and waits for a parent that may never reap it (PID 1 of a container). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  return stat !== undefined && !/^\d+ \(.*\) [ZX]/.test(stat);
}

interface Outcome {
  probe: string;
  ok: boolean;
  attempts: number;
  detail: string;
  seconds: number | null;
}

describe("readiness ends the RTO", () => {
  let ws: Workspace;
  const drill = (source: string) => ws.cli(["drill", source, "--json"]);
  const recordOf = async (id: string) => {
    const name = (await readdir(join(ws.dir, "reports"))).find(
      (file) => file.startsWith(id) && file.endsWith(".md"),
    );
    return readFile(join(ws.dir, "reports", name!), "utf8");
  };

  before(async () => {
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    ws = await workspace((dir) => config(dir, (app.address() as AddressInfo).port));
    const db = new DatabaseSync(join(ws.dir, "app.db"));
    db.exec("CREATE TABLE bookings (id INTEGER PRIMARY KEY, note TEXT)");
    const insert = db.prepare("INSERT INTO bookings (note) VALUES (?)");
    for (let i = 0; i < 200; i++) insert.run(`booking ${i}`);
    db.close();
    await mkdir(join(ws.dir, "restored"));
    assert.equal((await ws.cli(["init"])).code, 0);
    const backup = await ws.cli(["backup", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
  });
  after(async () => {
    await ws.cleanup();
    await new Promise<void>((resolve) => app.close(() => resolve()));
  });

  test("a service that turns healthy 3 s after its hook puts ~3 s into `ready` and the RTO", async (t) => {
    const result = await drill("warm");
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const report = result.json;
    assert.equal(report.status, "passed");
    const { phases, readiness } = report;
    assert.ok(phases.ready >= 2.5 && phases.ready <= 8, `ready phase ${phases.ready}s`);
    assert.ok(phases.hooks > 0 && phases.hooks < 5, `hooks phase ${phases.hooks}s`);
    // The RTO runs from the start to the first pass: every phase but the teardown, hooks and ready included.
    const untilReady = Object.entries(phases as Record<string, number>)
      .filter(([phase]) => phase !== "teardown")
      .reduce((sum, [, seconds]) => sum + seconds, 0);
    assert.ok(Math.abs(report.rto.achieved - untilReady) < 0.05, `${report.rto.achieved} vs ${untilReady}`);
    assert.ok(report.rto.achieved >= phases.ready + phases.hooks);
    t.diagnostic(`phases ${JSON.stringify(phases)}, rto ${report.rto.achieved}s`);
    assert.equal(report.rto.met, true);
    // Health before (the app up, before its hook restarted it) and after, beside each other.
    assert.equal(readiness.before.length, 1);
    assert.equal(readiness.before[0].ok, true);
    assert.equal(readiness.before[0].attempts, 1);
    assert.equal(readiness.ok, true);
    const [probe] = readiness.after as Outcome[];
    assert.equal(probe!.ok, true);
    assert.match(
      probe!.probe,
      /^http: http:\/\/127\.0\.0\.1:\d+\/app\/warm \(database\.migrations_current = true\)$/,
    );
    assert.ok(probe!.attempts > 5, `${probe!.attempts} attempts`);
    assert.ok(probe!.seconds! >= 2.5 && probe!.seconds! <= phases.ready + 0.01, `${probe!.seconds}s`);
    assert.match(probe!.detail, /HTTP 200, database\.migrations_current = true/);
    // The hook ran, with RESTORE_TARGET naming the scratch target, and its time is in `hooks`.
    assert.equal(readiness.hooks.length, 1);
    assert.equal(readiness.hooks[0].ok, true);
    assert.ok(readiness.hooks[0].seconds <= phases.hooks + 0.01);
    const saw = (await readFile(join(ws.dir, "warm-hook-saw"), "utf8")).trim();
    assert.ok(saw.startsWith(join(ws.dir, "scratch")), `RESTORE_TARGET was ${saw}`);
    const record = await recordOf(report.id);
    assert.match(record, /Run after_restore hooks: /);
    assert.match(record, /Wait until ready \(probes pass\): \d/);
    assert.match(record, /Health before the restore:\n {2}- http: .*\/app\/warm .*: READY/);
    assert.match(record, /Health after the restore:\n {2}- http: .*\/app\/warm .*: READY after \d/);
  });

  test("a probe that never turns healthy fails the drill at its budget and is named", async () => {
    const started = Date.now();
    const result = await drill("never");
    const wall = (Date.now() - started) / 1000;
    assert.equal(result.code, 6, result.stdout + result.stderr);
    const report = result.json;
    assert.equal(report.status, "verification_failed");
    // The data itself verified: it is the service that was not ready.
    assert.ok(report.checks.every((check: { result: string }) => check.result === "passed"));
    assert.ok(report.phases.ready >= 1.8 && report.phases.ready <= 4, `ready ${report.phases.ready}s`);
    assert.ok(wall < 20, `drill took ${wall}s`);
    assert.deepEqual(report.rto, { objective: null, achieved: null, met: null });
    const [probe] = report.readiness.after as Outcome[];
    assert.equal(probe!.ok, false);
    assert.equal(probe!.seconds, null);
    assert.ok(probe!.attempts >= 5, `${probe!.attempts} attempts`);
    const issue = (report.issues as string[]).find((line) => line.startsWith("ready:"));
    assert.ok(issue, report.issues.join("\n"));
    assert.match(issue, /\/app\/never did not pass: HTTP 503, expected 200 \(gave up after 2s\)/);
    const record = await recordOf(report.id);
    assert.match(record, /NOT READY \(HTTP 503, expected 200/);
    assert.match(
      record,
      /\*\*Result: VERIFICATION FAILED: the data restored and verified, but the service did not become ready\*\*/,
    );
  });

  test("json_field/equals: a body with the field false keeps polling; true passes", async () => {
    const result = await drill("flag");
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const [flag, tcp] = result.json.readiness.after as Outcome[];
    assert.equal(flag!.ok, true);
    assert.ok(flag!.attempts >= 5, `${flag!.attempts} attempts while the field was false`);
    assert.ok(flag!.seconds! >= 1.2, `passed after ${flag!.seconds}s`);
    assert.match(flag!.detail, /database\.migrations_current = true/);
    // Several probes are polled side by side: the open port passes at once, the RTO waits for the last.
    assert.equal(tcp!.ok, true);
    assert.equal(tcp!.attempts, 1);
    assert.ok(result.json.phases.ready >= flag!.seconds!);
  });

  test("SIGTERM while waiting for ready stops the drill within seconds and tears the scratch down", async () => {
    const child = spawn(process.execPath, [cliPath, "-c", ws.configFile, "drill", "patient"], {
      env: { ...process.env, ...ws.env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    // One pre-drill attempt, then the polling: wait until the drill is in its `ready` phase.
    for (let i = 0; i < 1000 && (requests.get("patient") ?? 0) < 4; i++) await sleep(10);
    assert.ok((requests.get("patient") ?? 0) >= 4, "the drill reached its ready phase");
    const stopped = Date.now();
    child.kill("SIGTERM");
    const code = await exited;
    assert.notEqual(code, 0); // a drill stopped by a signal proved nothing (exit 8, as any interrupted drill)
    assert.ok(Date.now() - stopped < 5000, `stopped after ${Date.now() - stopped} ms`);
    const left = (await readdir(join(ws.dir, "scratch"))).filter((entry) => entry.includes("patient"));
    assert.deepEqual(left, [], "no scratch left behind");
  });

  test("a failing hook fails the drill naming it; the later hooks and the probes do not run", async () => {
    const result = await drill("hook-fails");
    assert.equal(result.code, 6, result.stdout + result.stderr);
    const { readiness, issues, phases } = result.json;
    assert.equal(readiness.ok, false);
    assert.equal(readiness.hooks.length, 1);
    assert.match(readiness.hooks[0].detail, /^exit 3: error: alembic upgrade head failed/);
    assert.deepEqual(readiness.after, []);
    assert.equal(phases.ready, undefined);
    assert.ok(!existsSync(join(ws.dir, "second-hook-ran")));
    assert.match(
      (issues as string[]).join("\n"),
      /hooks: after_restore hook failed: echo "error: alembic upgrade head failed" >&2; exit 3: exit 3/,
    );
  });

  test("a hook that hangs is killed at its timeout, with what it started", async () => {
    const result = await drill("hook-hangs");
    assert.equal(result.code, 6, result.stdout + result.stderr);
    const [hook] = result.json.readiness.hooks;
    assert.equal(hook.ok, false);
    assert.match(hook.detail, /killed \(timeout 1s\)/);
    assert.ok(
      result.json.phases.hooks >= 0.9 && result.json.phases.hooks < 5,
      `${result.json.phases.hooks}s`,
    );
    const pid = Number((await readFile(join(ws.dir, "hang.pid"), "utf8")).trim());
    assert.equal(await running(pid), false, "the hook's sleep outlived it");
  });

  test("a server that accepts but never answers fails the probe at its budget, not later", async () => {
    const result = await drill("hanging-server");
    assert.equal(result.code, 6, result.stdout + result.stderr);
    assert.ok(result.json.phases.ready <= 3.5, `ready ${result.json.phases.ready}s for a 2s budget`);
    assert.equal(result.json.readiness.after[0].ok, false);
  });

  test("no secret from a URL or a command appears in the report, the record or the output", async () => {
    const result = await drill("secret");
    assert.equal(result.code, 6, result.stdout);
    const record = await recordOf(result.json.id);
    for (const text of [result.stdout, result.stderr, record]) {
      assert.doesNotMatch(text, /hunter2secret|s3cretpass/);
    }
    assert.match(result.stdout, /http:\/\/probe:\*\*\*@127\.0\.0\.1/);
  });

  test("a user and password in a probe's URL travel as Basic authentication and are never shown", async () => {
    const result = await drill("authed");
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.json.readiness.after[0].ok, true);
    assert.equal(result.json.readiness.after[0].detail, "HTTP 200");
    assert.doesNotMatch(result.stdout + (await recordOf(result.json.id)), /s3cretpass/);
  });

  test("lifeboat restore runs the hooks and probes: phases hooks and ready, the readiness outcome", async () => {
    const to = join(ws.dir, "restored", "warm.db");
    const result = await ws.cli(["restore", "warm", "--to", to, "--json"]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const { phases, readiness } = result.json;
    assert.ok(phases.restore >= 0 && phases.verify >= 0);
    assert.ok(phases.hooks > 0, `hooks ${phases.hooks}`);
    assert.ok(phases.ready >= 2.5 && phases.ready <= 8, `ready ${phases.ready}`);
    assert.equal(readiness.ok, true);
    assert.equal(readiness.before, undefined);
    assert.equal(readiness.after[0].ok, true);
    assert.equal((await readFile(join(ws.dir, "warm-hook-saw"), "utf8")).trim(), to);

    const human = await ws.cli(["restore", "warm", "--to", join(ws.dir, "restored", "warm2.db")]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /1 after_restore hook\(s\) in .*; ready after \d.* \(1 probe\(s\)\)/);
  });

  test("lifeboat restore of a service that never gets ready: SERVICE_NOT_READY, the data restored", async () => {
    const to = join(ws.dir, "restored", "never.db");
    const result = await ws.cli(["restore", "never", "--to", to, "--json"]);
    assert.equal(result.code, 6, result.stdout + result.stderr);
    assert.equal(result.json.error.code, "SERVICE_NOT_READY");
    assert.match(
      result.json.error.message,
      /is restored into .* and verified, but the service is not ready: .*\/app\/never/,
    );
    assert.ok(result.json.error.details.phases.ready >= 1.8);
    assert.equal(result.json.error.details.readiness.after[0].ok, false);
    assert.ok(existsSync(to), "the restored data stays");
    assert.match(result.stderr, /error \[SERVICE_NOT_READY\]/);
  });

  test("restore --no-ready skips the hooks and the probes", async () => {
    const before = requests.get("never") ?? 0;
    const result = await ws.cli([
      "restore",
      "never",
      "--to",
      join(ws.dir, "restored", "skip.db"),
      "--no-ready",
      "--json",
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.json.phases.ready, undefined);
    assert.equal(result.json.readiness, undefined);
    assert.equal(requests.get("never") ?? 0, before);
  });

  test("restore --group runs each member's hooks and probes; one member not ready is SERVICE_NOT_READY", async () => {
    const backup = await ws.cli(["backup", "--group", "pair", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    const result = await ws.cli([
      "restore",
      "--group",
      "pair",
      "--to",
      `flag=${join(ws.dir, "restored", "g-flag.db")}`,
      "--to",
      `never=${join(ws.dir, "restored", "g-never.db")}`,
      "--json",
    ]);
    assert.equal(result.code, 6, result.stdout + result.stderr);
    const members = Object.fromEntries(
      result.json.members.map((member: { source: string }) => [member.source, member]),
    );
    assert.equal(members.flag.readiness.ok, true);
    assert.ok(members.flag.phases.hooks > 0 && members.flag.phases.ready > 0);
    assert.equal(members.never.readiness.ok, false);
    assert.ok(members.never.phases.ready >= 1.8, `never waited ${members.never.phases.ready}s`);
    assert.match(result.stderr, /never .*not ready/);

    const skipped = await ws.cli([
      "restore",
      "--group",
      "pair",
      "--to",
      `flag=${join(ws.dir, "restored", "g2-flag.db")}`,
      "--to",
      `never=${join(ws.dir, "restored", "g2-never.db")}`,
      "--no-ready",
      "--json",
    ]);
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.equal(skipped.json.members[0].readiness, undefined);
  });

  test("the issue's interface contract parses, with the documented defaults, for every engine", () => {
    const config = parseConfig(`repository: { url: "file:///tmp/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  app-db:
    engine: postgres
    url: postgres://app@db.prod.internal/app
    ready:
      - http: { url: "http://127.0.0.1:8000/readyz", json_field: database.migrations_current, equals: true }
    after_restore:
      - command: "docker compose exec -T api alembic upgrade head"
  uploads:
    engine: files
    path: /srv/uploads
    ready: [{ tcp: "127.0.0.1:8000" }, { command: "true", interval: 5s }]
`);
    assert.deepEqual(config.sources["app-db"]!.ready, [
      {
        http: {
          url: "http://127.0.0.1:8000/readyz",
          status: 200,
          json_field: "database.migrations_current",
          equals: true,
        },
        interval: "1s",
        timeout: "5m",
      },
    ]);
    assert.deepEqual(config.sources["app-db"]!.after_restore, [
      { command: "docker compose exec -T api alembic upgrade head", timeout: "5m" },
    ]);
    assert.deepEqual(config.sources.uploads!.ready, [
      { tcp: "127.0.0.1:8000", interval: "1s", timeout: "5m" },
      { command: "true", interval: "5s", timeout: "5m" },
    ]);
  });

  test("lifeboat.yaml: every invalid ready/after_restore field is reported with its path", async () => {
    const bad = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  files:
    engine: files
    path: "${dir}/x"
    ready:
      - http: { url: "not a url" }
    after_restore:
      - command: ""
        timeout: soon
`,
    );
    try {
      const result = await bad.cli(["snapshots", "--json"]);
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.equal(result.json.error.code, "BAD_CONFIG");
      const text = JSON.stringify(result.json.error);
      assert.match(text, /sources\.files\.ready\.0/);
      assert.match(text, /sources\.files\.after_restore\.0\.(command|timeout)/);
    } finally {
      await bad.cleanup();
    }
  });
});

describe("readiness after a point-in-time restore", () => {
  let setup: PitrSetup;
  let port: number;
  const dataDir = () => join(setup.ws.dir, "restored-cluster");

  before(async () => {
    port = await freePort();
    setup = await startPitrSetup({
      // A drill's throwaway server is in PGPORT (the scratch target's details); a restore's is on `port`.
      appDb: (dir) => `    after_restore:
      - command: 'echo "$RESTORE_TARGET" >> "${dir}/pitr-hook-saw"'
    ready:
      - command: 'pg_isready -q -h "\${PGHOST:-127.0.0.1}" -p "\${PGPORT:-${port}}"'
        interval: 100ms
        timeout: 30s
`,
    });
    await setup.marker("m1");
    const backup = await setup.ws.cli(["backup", "app-db", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    await setup.switchAndWait();
  });
  after(async () => {
    if (setup) stopRestored(dataDir());
    await setup?.stop();
  });

  test("restore --start runs the hooks on the data directory, then the probes, with their phases", async () => {
    const result = await setup.ws.cli([
      "restore",
      "app-db",
      "--to",
      dataDir(),
      "--latest",
      "--start",
      "--port",
      String(port),
      "--json",
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const { phases, readiness } = result.json;
    assert.equal(typeof phases.layDown, "number");
    assert.ok(phases.hooks > 0, `hooks ${phases.hooks}`);
    assert.equal(typeof phases.ready, "number");
    assert.equal(readiness.ok, true);
    assert.equal(readiness.hooks[0].ok, true);
    assert.match(readiness.after[0].probe, /^command: pg_isready/);
    assert.equal(await readFile(join(setup.ws.dir, "pitr-hook-saw"), "utf8"), `${dataDir()}\n`);
  });

  test("a point-in-time drill runs them against its throwaway server, inside its RTO", async () => {
    const result = await setup.ws.cli(["drill", "app-db", "--json"]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const { phases, readiness, rto } = result.json;
    assert.equal(result.json.status, "passed");
    assert.equal(typeof phases.replay, "number");
    assert.ok(phases.hooks > 0 && typeof phases.ready === "number", JSON.stringify(phases));
    assert.equal(readiness.before.length, 1);
    assert.equal(readiness.ok, true);
    assert.ok(rto.achieved >= phases.hooks + phases.ready);
    const saw = (await readFile(join(setup.ws.dir, "pitr-hook-saw"), "utf8")).trim().split("\n");
    assert.match(saw.at(-1)!, /^postgres:\/\//);
  });
});
