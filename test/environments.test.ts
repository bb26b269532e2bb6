// environments: in lifeboat.yaml through the real CLI. A restore into a
// target matching a production pattern (or under an .env marker) is refused
// without --confirm (no terminal here) and proceeds with it; a dry run says
// which environment the target belongs to; a drill whose scratch target is
// production is refused before anything is made there.

import assert from "node:assert/strict";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { workspace } from "./support/cli.ts";

let ws: Awaited<ReturnType<typeof workspace>>;

before(async () => {
  ws = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
reports: { dir: "${dir}/reports" }
environments:
  production: { match: ["${dir}/prod/*"], env_file_marker: "APP_ENV=prod" }
  staging: { match: ["${dir}/staging/*"] }
sources:
  uploads:
    engine: files
    path: "${dir}/uploads"
    drill:
      target: { path: "${dir}/prod/drills" }
      checks: [{ command: "true" }]
scenarios:
  touches-prod:
    steps:
      - disrupt: { command: "true" }
      - recover: { restore: { source: uploads, to: "${dir}/prod/scenario" } }
`,
  );
  await mkdir(join(ws.dir, "uploads"));
  await writeFile(join(ws.dir, "uploads", "a.txt"), "a");
  for (const dir of ["prod", "staging", "marked", "prod/drills"])
    await mkdir(join(ws.dir, dir), { recursive: true });
  await writeFile(join(ws.dir, "marked", ".env"), "# the app's settings\nAPP_ENV=prod\n");
  assert.equal((await ws.cli(["init"])).code, 0);
  assert.equal((await ws.cli(["backup", "--json"])).code, 0);
});
after(() => ws.cleanup());

test("a restore into production is refused without --confirm, and proceeds with the target's name", async () => {
  const target = join(ws.dir, "prod", "uploads-restored");
  const refused = await ws.cli(["restore", "uploads", "--to", target, "--json"]);
  assert.equal(refused.code, 2, refused.stdout);
  assert.match(
    refused.json.error.message,
    /is a production target \(pattern .*\/prod\/\*\): the restore target needs --confirm uploads-restored/,
  );
  await assert.rejects(readdir(target), /ENOENT/);
  const wrong = await ws.cli(["restore", "uploads", "--to", target, "--confirm", "uploads", "--json"]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.json.error.message, /got --confirm uploads/);
  const confirmed = await ws.cli([
    "restore",
    "uploads",
    "--to",
    target,
    "--confirm",
    "uploads-restored",
    "--json",
  ]);
  assert.equal(confirmed.code, 0, confirmed.stderr);
  assert.equal(confirmed.json.environment.name, "production");
  assert.deepEqual(await readdir(target), ["a.txt"]);
});

test("an .env marker above a folder makes it production; staging needs no confirmation", async () => {
  const marked = await ws.cli(["restore", "uploads", "--to", join(ws.dir, "marked", "r"), "--json"]);
  assert.equal(marked.code, 2);
  assert.match(marked.json.error.message, /APP_ENV=prod in .*marked\/\.env/);
  const staging = await ws.cli(["restore", "uploads", "--to", join(ws.dir, "staging", "r"), "--json"]);
  assert.equal(staging.code, 0, staging.stderr);
  assert.equal(staging.json.environment.name, "staging");
});

test("a dry run says the environment and what a real run needs", async () => {
  const dry = await ws.cli(["restore", "uploads", "--to", join(ws.dir, "prod", "x"), "--dry-run"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /target environment: production \(pattern .*\); a real run needs --confirm x/);
});

test("a drill whose scratch target is production is refused, and nothing is made there", async () => {
  const drill = await ws.cli(["drill", "uploads", "--json"]);
  assert.equal(drill.code, 8, drill.stdout + drill.stderr);
  assert.equal(drill.json.status, "error");
  assert.match(
    drill.json.issues.join("\n"),
    /scratch target .*prod\/drills is production .*drills never restore into production/,
  );
  assert.deepEqual(await readdir(join(ws.dir, "prod", "drills")), []);
});

test("a scenario naming a production target is refused unless it is marked production", async () => {
  const run = await ws.cli(["scenario", "run", "touches-prod", "--json"]);
  assert.equal(run.code, 2, run.stdout);
  assert.match(
    run.json.error.message,
    /names a production target, .*prod\/scenario .*not marked environment: production/,
  );
  await assert.rejects(readdir(join(ws.dir, "prod", "scenario")), /ENOENT/);
});
