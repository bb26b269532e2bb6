// Fault 15, through the real CLI against a real PostgreSQL whose role needs a
// password (scram-sha-256 over TCP): secrets never leave the process. A drill
// check dumps its environment; a second OS user tries to reach the throwaway
// drill cluster; a sampler reads /proc/<pid>/environ and cmdline of every
// process Lifeboat starts while it backs up, restores and drills; and every
// output (stdout, stderr, --json, the reports folder, webhook and Slack
// bodies) is searched for the passwords.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ExitCode } from "../src/errors.ts";
import { cliPath, workspace, type CliResult } from "./support/cli.ts";
import { startCluster, type PgCluster } from "./support/pg-cluster.ts";

const dbPassword = "Db-Secret:4711/xq"; // ':' and '/' must be percent-encoded in a URL: both forms are searched
const repoPassword = "Repo-Secret-0815-zk";
const slackToken = "slack-Secret-Token-93";
const role = "app_owner";

type Workspace = Awaited<ReturnType<typeof workspace>>;

/** What a sampler saw of Lifeboat's descendants. */
interface Sampled {
  /** Names (comm) of every descendant seen at least once. */
  readonly seen: Set<string>;
  /** Secrets found: "<comm> <pid> environ|cmdline: <which secret>". */
  readonly leaks: string[];
  samples: number;
}

const nodeExe = readlinkSync("/proc/self/exe");

function parentsByPid(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(/^\d+ \(.*\) \S (\d+)/.exec(stat)?.[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // ended while we looked
    }
  }
  return children;
}

function descendants(root: number): number[] {
  const children = parentsByPid();
  const found: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length) {
    const pid = queue.shift()!;
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/**
 * One look at every descendant of `root`. A child between fork and exec is
 * still Lifeboat (node) with Lifeboat's own environment: it is skipped.
 * `mayHoldDbPassword` names the tools that legitimately get PGPASSWORD.
 */
function sample(root: number, into: Sampled, mayHoldDbPassword: ReadonlySet<string>): void {
  into.samples++;
  for (const pid of descendants(root)) {
    try {
      if (readlinkSync(`/proc/${pid}/exe`) === nodeExe) continue;
      const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      const environ = readFileSync(`/proc/${pid}/environ`, "latin1");
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "latin1");
      into.seen.add(comm);
      for (const [where, text] of [
        ["environ", environ],
        ["cmdline", cmdline],
      ] as const) {
        for (const [name, value] of secretForms()) {
          const allowed = name.startsWith("db") && where === "environ" && mayHoldDbPassword.has(comm);
          if (text.includes(value) && !allowed) into.leaks.push(`${comm} ${pid} ${where}: ${name}`);
        }
      }
    } catch {
      // ended while we looked
    }
  }
}

function secretForms(): [string, string][] {
  return [
    ["db password", dbPassword],
    ["db password (URL-encoded)", encodeURIComponent(dbPassword)],
    ["repository password", repoPassword],
    ["slack token", slackToken],
  ];
}

/** Run the CLI while sampling its descendants every ~10 ms. */
function runSampled(
  ws: Workspace,
  args: readonly string[],
  env: Record<string, string>,
  mayHoldDbPassword: readonly string[] = [],
): Promise<CliResult & { sampled: Sampled }> {
  const sampled: Sampled = { seen: new Set(), leaks: [], samples: 0 };
  const allowed = new Set(mayHoldDbPassword);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, "-c", ws.configFile, ...args], {
      env: { ...process.env, LIFEBOAT_PASSWORD: repoPassword, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const timer = setInterval(() => sample(child.pid!, sampled, allowed), 10);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearInterval(timer);
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code, signal, stdout, stderr, json, sampled });
    });
  });
}

function assertNoSecret(text: string, where: string): void {
  for (const [name, value] of secretForms()) {
    assert.ok(!text.includes(value), `${name} found in ${where}:\n${text}`);
  }
}

describe("secrets never leave the process", () => {
  let cluster: PgCluster;
  let ws: Workspace;
  let slackUrl = "";
  const bodies: string[] = [];
  const outputs: { where: string; text: string }[] = [];
  const receiver = createServer(async (request: IncomingMessage, response) => {
    let text = "";
    for await (const chunk of request) text += chunk;
    bodies.push(`${request.url}\n${text}`);
    response.writeHead(200).end("ok");
  });
  const record = (where: string, result: CliResult) => {
    outputs.push(
      { where: `${where} stdout`, text: result.stdout },
      { where: `${where} stderr`, text: result.stderr },
    );
  };
  const dbUrl = (db: string, password = false) =>
    `postgres://${role}${password ? `:${encodeURIComponent(dbPassword)}` : ""}@127.0.0.1:${cluster.port}/${db}`;

  before(async () => {
    cluster = await startCluster();
    // The role needs its password over TCP (the test cluster trusts everyone else).
    await cluster.psql(`CREATE ROLE ${role} LOGIN CREATEDB PASSWORD '${dbPassword}'`);
    const hba = join(cluster.dataDir, "pg_hba.conf");
    await writeFile(hba, `host all ${role} 127.0.0.1/32 scram-sha-256\n${await readFile(hba, "utf8")}`);
    await cluster.psql("SELECT pg_reload_conf()");
    await cluster.psql(`CREATE DATABASE app OWNER ${role}`);
    await cluster.psql(
      `CREATE TABLE items (id serial PRIMARY KEY, body text);
       INSERT INTO items (body) SELECT md5(i::text) FROM generate_series(1, 50000) AS i;
       ALTER TABLE items OWNER TO ${role};`,
      "app",
    );
    const withoutPassword = spawnSync("psql", ["-X", "-w", "-c", "select 1", dbUrl("app")], {
      encoding: "utf8",
    });
    assert.match(withoutPassword.stderr, /password/, "the role must really need its password");

    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const port = (receiver.address() as AddressInfo).port;
    slackUrl = `http://127.0.0.1:${port}/services/T0/B0/${slackToken}`;
    ws = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
reports: { dir: "${dir}/reports" }
notify:
  - webhook: "http://127.0.0.1:${port}/hooks/lifeboat"
    on: always
  - slack_webhook_env: TEST_SLACK_URL
    on: always
sources:
  app-db:
    engine: postgres
    url: "${dbUrl("app")}"
    drill:
      checks:
        - command: 'env > ${dir}/check-env.txt'
        - command: 'cat ${dir}/leak.txt'
        - command: 'psql -X -Atc "select count(*) from items" > ${dir}/owner.txt && runuser -u nobody -- psql --version > ${dir}/nobody-version.txt && ! runuser -u nobody -- psql -X -w -h "$PGHOST" -p "$PGPORT" -U postgres -d "$PGDATABASE" -c "select 1" 2> ${dir}/nobody-socket.txt && ! runuser -u nobody -- psql -X -w -h 127.0.0.1 -p "$PGPORT" -U postgres -d "$PGDATABASE" -c "select 1" 2> ${dir}/nobody-tcp.txt'
`,
      repoPassword,
    );
    // A check that prints a secret it found somewhere (it is not given any): its output is redacted.
    await writeFile(join(ws.dir, "leak.txt"), `the check printed ${dbPassword}\n`);
    const init = await ws.cli(["init"]);
    assert.equal(init.code, 0, init.stderr);
    record("init", init);
  });

  after(async () => {
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    await ws?.cleanup();
    await cluster?.stop();
  });

  test("backup: pg_dump gets the password in its environment only, nothing else sees any secret", async () => {
    const backup = await runSampled(ws, ["backup", "--json"], { PGPASSWORD: dbPassword }, [
      "pg_dump",
      "pg_dumpall",
    ]);
    assert.equal(backup.code, 0, backup.stderr);
    record("backup", backup);
    assert.ok(backup.sampled.samples > 5, `only ${backup.sampled.samples} samples`);
    assert.ok(backup.sampled.seen.has("pg_dump"), `pg_dump was never sampled: ${[...backup.sampled.seen]}`);
    assert.deepEqual(backup.sampled.leaks, []);
  });

  test("drill: checks and the throwaway cluster see no secret; another OS user cannot reach the cluster", async () => {
    const drill = await runSampled(ws, ["drill", "app-db", "--json"], {
      PGPASSWORD: dbPassword,
      TEST_SLACK_URL: slackUrl,
    });
    record("drill --json", drill);
    assert.equal(drill.code, 0, drill.stdout + drill.stderr);
    assert.equal(drill.json.status, "passed");
    for (const name of ["pg_restore", "postgres", "sh"]) {
      assert.ok(drill.sampled.seen.has(name), `${name} was never sampled: ${[...drill.sampled.seen]}`);
    }
    assert.deepEqual(drill.sampled.leaks, []);

    // The check's own view: the scratch target, no secret, no Lifeboat variable at all.
    const checkEnv = await readFile(join(ws.dir, "check-env.txt"), "utf8");
    assertNoSecret(checkEnv, "the environment of a drill check");
    assert.doesNotMatch(checkEnv, /^(LIFEBOAT_PASSWORD|PGPASSWORD|TEST_SLACK_URL)=/m);
    assert.match(checkEnv, /^PGHOST=\/\S+\/sock$/m);
    // The check's output quoted the password: the report has it redacted.
    const echo = drill.json.checks.find((check: { name: string }) => check.name.startsWith("command: cat"));
    assert.equal(echo.detail, "exit 0: the check printed ***");

    // As root the check reached the cluster; as nobody, neither its socket nor TCP answer.
    assert.equal((await readFile(join(ws.dir, "owner.txt"), "utf8")).trim(), "50000");
    assert.match(await readFile(join(ws.dir, "nobody-version.txt"), "utf8"), /psql \(PostgreSQL\)/);
    assert.match(await readFile(join(ws.dir, "nobody-socket.txt"), "utf8"), /Permission denied/);
    assert.match(await readFile(join(ws.dir, "nobody-tcp.txt"), "utf8"), /Connection refused/);

    const text = await ws.cli(["drill", "app-db"], { PGPASSWORD: dbPassword, TEST_SLACK_URL: slackUrl });
    assert.equal(text.code, 0, text.stdout + text.stderr);
    record("drill", text);
    assert.ok(
      bodies.some((body) => body.includes(`/services/T0/B0/${slackToken}`)),
      "Slack got its message",
    );
  });

  test("restore --to with a password: accepted with a warning, printed redacted, never in argv", async () => {
    const withUserinfo = dbUrl("restored_a", true);
    const withParameter = `${dbUrl("restored_b")}?password=${encodeURIComponent(dbPassword)}`;
    const runs: [string, string[], string[]][] = [
      ["restore --dry-run", ["restore", "app-db", "--to", withUserinfo, "--dry-run"], []],
      ["restore --dry-run --json", ["restore", "app-db", "--to", withParameter, "--dry-run", "--json"], []],
      ["restore", ["restore", "app-db", "--to", withUserinfo], ["pg_restore", "psql"]],
      ["restore --json", ["restore", "app-db", "--to", withParameter, "--json"], ["pg_restore", "psql"]],
    ];
    for (const [where, args, tools] of runs) {
      // No PGPASSWORD: the URL's password is what lets the restore in.
      const result = await runSampled(ws, args, {}, tools);
      record(where, result);
      assert.equal(result.code, 0, `${where}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, /password in --to is visible.*`ps`.*PGPASSWORD/s);
      assert.deepEqual(result.sampled.leaks, [], where);
      if (tools.length)
        assert.ok(result.sampled.seen.has("pg_restore"), `${where}: pg_restore never sampled`);
    }
    assert.equal(await cluster.psql("SELECT count(*) FROM items", "restored_a"), "50000");
    assert.equal(await cluster.psql("SELECT count(*) FROM items", "restored_b"), "50000");
    const json = outputs.find((output) => output.where === "restore --json stdout")!;
    assert.match(JSON.parse(json.text).target, /password=\*\*\*/);
  });

  test("no output, report, record or notification holds a secret", async () => {
    const listings = await Promise.all([ws.cli(["snapshots", "--json"]), ws.cli(["drills", "--json"])]);
    listings.forEach((result, index) => record(["snapshots", "drills"][index]!, result));
    const reportsDir = join(ws.dir, "reports");
    const reports = await readdir(reportsDir);
    assert.ok(reports.some((name) => name.endsWith(".md")) && reports.some((name) => name.endsWith(".json")));
    for (const name of reports) {
      outputs.push({ where: `reports/${name}`, text: await readFile(join(reportsDir, name), "utf8") });
    }
    assert.ok(bodies.length >= 4, `${bodies.length} notifications received`);
    bodies.forEach((body, index) =>
      outputs.push({ where: `notification ${index}`, text: body.replace(/^.*\n/, "") }),
    );
    assert.ok(outputs.length > 20);
    for (const { where, text } of outputs) assertNoSecret(text, where);
  });

  test("a failed restore names the server, not the password, in text and --json", async () => {
    const unreachable = `postgres://${role}:${encodeURIComponent(dbPassword)}@127.0.0.1:1/x`;
    for (const json of [[], ["--json"]]) {
      const result = await ws.cli(["restore", "app-db", "--to", unreachable, ...json]);
      assert.equal(result.code, ExitCode.sourceOrTarget, result.stdout + result.stderr);
      assert.match(result.stdout + result.stderr, /TARGET_UNREACHABLE/);
      assert.match(result.stdout + result.stderr, /127\.0\.0\.1:1/);
      assertNoSecret(result.stdout + result.stderr, "a failed restore");
    }
  });
});
