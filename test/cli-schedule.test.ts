// `lifeboat schedule` through the real CLI: an invalid cron expression names
// the field and what is wrong; `schedule list` shows the next runs; a real
// `schedule run` on a seconds-level schedule performs backups and drills
// (their run records reach `status`) and, stopped by SIGTERM in the middle of
// a drill, exits cleanly with nothing half-written: no lock, no scratch
// leftovers, a repository that checks clean.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { cliPath, workspace } from "./support/cli.ts";
import { freePort } from "./support/services.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;
let ws: Workspace;

const yaml =
  (schedules: string) =>
  (dir: string) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  uploads:
    engine: files
    path: "${dir}/uploads"
    drill:
      checks:
        - { command: "sleep 4" }
schedules:
${schedules}
`;

before(async () => {
  ws = await workspace(
    yaml(`  often: { every: 2s, run: backup, sources: [uploads] }
  drills: { cron: "*/3 * * * * *", run: drill, sources: [uploads] }`),
  );
  await mkdir(join(ws.dir, "uploads"));
  await writeFile(join(ws.dir, "uploads", "a.txt"), "scheduled bytes\n");
  assert.equal((await ws.cli(["init"])).code, 0);
});
after(() => ws.cleanup());

test("an invalid schedule names each field and what is wrong", async () => {
  const bad = await workspace(
    yaml(`  broken: { cron: "61 * * * *", run: backup, sources: [nowhere], timezone: Mars/Olympus }
  Bad_Name: { every: 1h, run: check }
  both: { cron: "0 * * * *", every: 1h, run: check }`),
  );
  try {
    const result = await bad.cli(["schedule", "list"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /schedules\.broken\.cron: invalid cron expression: .*minute: 61/);
    assert.match(result.stderr, /schedules\.broken\.timezone: unknown time zone Mars\/Olympus/);
    assert.match(result.stderr, /schedules\.Bad_Name/);
    assert.match(result.stderr, /schedules\.both\.cron: give exactly one of cron or every/);
  } finally {
    await bad.cleanup();
  }
  // Whether named sources exist is checked once every field parses.
  const unknown = await workspace(
    yaml(`  nightly: { cron: "0 2 * * *", run: backup, sources: [uploads, nowhere] }`),
  );
  try {
    const result = await unknown.cli(["schedule", "list"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /schedules\.nightly\.sources\.1: no source named nowhere/);
  } finally {
    await unknown.cleanup();
  }
});

test("schedule list shows each command and its next runs", async () => {
  const list = await ws.cli(["schedule", "list", "--count", "2", "--json"]);
  assert.equal(list.code, 0, list.stderr);
  const often = list.json.schedules.find((s: { name: string }) => s.name === "often");
  assert.equal(often.command, "lifeboat backup uploads");
  assert.equal(often.next.length, 2);
  assert.equal(Date.parse(often.next[1]) - Date.parse(often.next[0]), 2000);
});

test("schedule run backs up and drills on time, and SIGTERM mid-drill leaves nothing half-done", async () => {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      cliPath,
      "-c",
      ws.configFile,
      "schedule",
      "run",
      "--state",
      join(ws.dir, "state.json"),
      "--listen",
      `127.0.0.1:${port}`,
    ],
    {
      env: { ...process.env, ...ws.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let log = "";
  child.stdout.on("data", (chunk: Buffer) => (log += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const waitFor = async (pattern: RegExp, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(log)) {
      if (Date.now() > deadline) throw new Error(`never saw ${pattern}:\n${log}`);
      if (child.exitCode !== null) throw new Error(`the scheduler exited:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  try {
    await waitFor(/often: succeeded/, 20_000);
    await waitFor(/drills: succeeded/, 30_000);
    // --listen: the scheduler serves the status endpoints too.
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^lifeboat_repository_up 1$/m);
    assert.match(metrics, /lifeboat_backup_last_success_timestamp_seconds\{source="uploads"\}/);
    // The next drill takes 4 s (its check sleeps): stop the scheduler in the middle of it.
    const drills = (log.match(/drills: starting/g) ?? []).length;
    await waitFor(new RegExp(`(drills: starting[\\s\\S]*){${drills + 1}}`), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const stoppedAt = Date.now();
    child.kill("SIGTERM");
    const code = await exited;
    assert.equal(code, 0, log);
    assert.ok(Date.now() - stoppedAt < 25_000, "stopped within the cleanup grace");
    assert.match(log, /scheduler stopped after \d+ run\(s\)/);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }

  const status = await ws.cli(["status", "--json"]);
  const uploads = status.json.sources[0];
  assert.ok(uploads.runs.backup.succeeded >= 1, JSON.stringify(uploads.runs));
  assert.ok(uploads.runs.drill.succeeded >= 1);
  assert.ok(uploads.lastBackup, "the scheduled backups made snapshots");
  assert.deepEqual(
    (await readdir(join(ws.dir, "repo", "locks"))).filter((name) => !name.startsWith(".")),
    [],
    "no lock left behind",
  );
  assert.deepEqual(await readdir(join(ws.dir, "tmp")), [], "no scratch leftovers");
  const check = await ws.cli(["check", "--json"]);
  assert.equal(check.code, 0, check.stdout);
  assert.deepEqual(check.json.problems, []);
});
