// Around a run, against a real HTTP server: the heartbeat file is rewritten
// after a successful backup and left alone after a failed one; the
// healthchecks-style URL gets /start then success or /fail; notify targets
// hear of a failed backup (the run record, redacted) but not of a good one;
// the ping URL, a credential, appears in no output; a monitor that cannot be
// reached is a warning, never a failed backup.

import assert from "node:assert/strict";
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { workspace } from "./support/cli.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;
let ws: Workspace;
let server: Server;
let base = "";
const received: { path: string; body: string }[] = [];
const pingSecret = "ping-uuid-5f1c9e2a7b3d4e6f";

before(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      received.push({ path: request.url ?? "", body });
      response.end("OK");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ws = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
heartbeat: { file: "${dir}/LAST_SUCCESS.txt", ping_url_env: HEALTHCHECK_URL }
notify:
  - { webhook: "${base}/hook", on: failure }
sources:
  uploads: { engine: files, path: "${dir}/uploads" }
`,
  );
  await mkdir(join(ws.dir, "uploads"));
  await writeFile(join(ws.dir, "uploads", "a.txt"), "a\n");
  assert.equal((await ws.cli(["init"])).code, 0);
});
after(async () => {
  server.close();
  await ws.cleanup();
});

const env = () => ({ HEALTHCHECK_URL: `${base}/ping/${pingSecret}` });

test("a good backup: start and success pings, the heartbeat file, no notification", async () => {
  received.length = 0;
  const result = await ws.cli(["backup", "--json"], env());
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    received.map((request) => request.path),
    [`/ping/${pingSecret}/start`, `/ping/${pingSecret}`],
  );
  const heartbeat = await readFile(join(ws.dir, "LAST_SUCCESS.txt"), "utf8");
  assert.match(heartbeat, /^\d{4}-\d\d-\d\dT.*Z backup uploads\n$/);
  assert.ok(!`${result.stdout}${result.stderr}`.includes(pingSecret), "the ping URL is a credential");
});

test("a failed backup: the /fail ping says why, the webhook gets the run record, the file stays", async () => {
  const before = (await stat(join(ws.dir, "LAST_SUCCESS.txt"))).mtimeMs;
  received.length = 0;
  await rename(join(ws.dir, "uploads"), join(ws.dir, "away"));
  try {
    const result = await ws.cli(["backup"], env());
    assert.equal(result.code, 5, result.stderr);
    assert.ok(!`${result.stdout}${result.stderr}`.includes(pingSecret));
  } finally {
    await rename(join(ws.dir, "away"), join(ws.dir, "uploads"));
  }
  const paths = received.map((request) => request.path);
  assert.deepEqual(paths, [`/ping/${pingSecret}/start`, `/ping/${pingSecret}/fail`, "/hook"]);
  assert.match(received[1]!.body, /uploads: \[SOURCE_UNREACHABLE\]/);
  const record = JSON.parse(received[2]!.body);
  assert.equal(record.schema, "lifeboat.run-record/v1");
  assert.equal(record.operation, "backup");
  assert.equal(record.outcome, "failed");
  assert.equal(record.error.code, "SOURCE_UNREACHABLE");
  assert.ok(!received[2]!.body.includes(ws.password));
  assert.equal((await stat(join(ws.dir, "LAST_SUCCESS.txt"))).mtimeMs, before, "no heartbeat for a failure");
});

test("a repository that cannot be opened still pings /fail; an unreachable monitor is only a warning", async () => {
  received.length = 0;
  const wrong = await ws.cli(["backup"], { ...env(), LIFEBOAT_PASSWORD: "wrong password here" });
  assert.equal(wrong.code, 12);
  assert.deepEqual(
    received.map((request) => request.path),
    [`/ping/${pingSecret}/start`, `/ping/${pingSecret}/fail`, "/hook"],
  );

  const unreachable = await ws.cli(["backup"], { HEALTHCHECK_URL: `http://127.0.0.1:1/ping/${pingSecret}` });
  assert.equal(unreachable.code, 0, unreachable.stderr);
  assert.match(unreachable.stderr, /heartbeat ping failed/);
  assert.ok(!unreachable.stderr.includes(pingSecret));
});
