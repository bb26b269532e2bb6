// The `block` action: an iptables rule on this host cuts a TCP port off (as
// root; CI runs as root), `unblock` removes it, and no rule outlives its
// scenario even when a step fails. The service is a real TCP server.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer, type Server } from "node:net";
import { after, before, test } from "node:test";
import { workspace } from "./support/cli.ts";

let server: Server;
let port: number;
let ws: Awaited<ReturnType<typeof workspace>>;

function rules(): string {
  return execFileSync("iptables", ["-w", "-S", "INPUT"], { encoding: "utf8" });
}

before(async () => {
  // Probes connect and hang up at once: a reset while greeting them is no error of the test's.
  server = createServer((socket) => socket.on("error", () => {}).end("hello\n"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
  ws = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
reports: { dir: "${dir}/reports" }
scenarios:
  partition:
    expected: { rto: 30s }
    steps:
      - steady: { tcp: "127.0.0.1:${port}", timeout: 5s }
      - disrupt: { block: { port: ${port} } }
      - recover: { unblock: true }
      - probe: { tcp: "127.0.0.1:${port}", interval: 200ms, timeout: 10s }
  stays-down:
    steps:
      - disrupt: { block: { port: ${port}, mode: reject } }
      - probe: { tcp: "127.0.0.1:${port}", interval: 200ms, timeout: 1s }
`,
  );
});
after(async () => {
  await ws?.cleanup();
  await new Promise((resolve) => server.close(resolve));
});

test("block then unblock: the port is back and the RTO measured", async () => {
  const run = await ws.cli(["scenario", "run", "partition", "--json"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.equal(run.json.steps[1].detail, `port ${port} blocked (drop)`);
  assert.equal(run.json.status, "passed");
  assert.doesNotMatch(rules(), /lifeboat-scenario-/);
});

test("a blocked port is really cut off, and unblocked when the scenario ends though its probe failed", async () => {
  const run = await ws.cli(["scenario", "run", "stays-down", "--json"]);
  assert.equal(run.code, 6, run.stdout + run.stderr);
  const probe = run.json.steps[1];
  assert.equal(probe.result, "failed");
  assert.match(probe.detail, /ECONNREFUSED|ECONNRESET|refused|reset/i);
  assert.match(run.json.issues.join("\n"), /ports the scenario blocked were unblocked at its end/);
  assert.doesNotMatch(rules(), /lifeboat-scenario-/);
});
