// restore --notify through the real CLI, into a real local HTTP receiver: the
// start, progress updates with bytes and an ETA, and the end with the achieved
// RTO arrive in order; a receiver that fails (500) or never answers changes
// neither the restore's exit code nor its result and costs at most the
// delivery timeout; no secret (a password in the target URL, the webhook's
// path, the Slack token) reaches a body or an output; SIGTERM stops the
// restore promptly and the end says it was interrupted. ARCHITECTURE.md
// faults 4 (kill during restore), 15 (secrets) and 17 (signals).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  DEFAULT_NOTIFY_TIMEOUT_SECONDS,
  DEFAULT_PROGRESS_INTERVAL_SECONDS,
  INTERRUPTED_END_BUDGET_MS,
} from "../src/cli/restore-notify-targets.ts";
import { RATE_WINDOW_MS } from "../src/plan/restore-progress.ts";
import { cliPath, workspace } from "./support/cli.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;
type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// The webhook's path and the Slack token are credentials: neither may show up anywhere.
const hookSecret = "h00kS3cretPath7f3a";
const slackToken = "T0RESTORE/B0RESTORE/sl4ckT0k3nV4lue";
const targetPassword = "Tg7PassW0rdXyz";

const received: { path: string; body: Body; at: number }[] = [];
/** Requests to /silent still open (it never answers), and the most open when a start or update arrived. */
const silent = { open: new Set<ServerResponse>(), most: 0, total: 0 };

const receiver = createServer(async (request: IncomingMessage, response: ServerResponse) => {
  let text = "";
  for await (const chunk of request) text += chunk;
  const path = request.url ?? "";
  received.push({ path, body: JSON.parse(text) as Body, at: Date.now() });
  if (path.startsWith("/silent")) {
    silent.total++;
    // The end abandons a pending update and is sent at once: count what was open when the others arrived.
    if (received.at(-1)!.body.kind !== "restore.end")
      silent.most = Math.max(silent.most, silent.open.size + 1);
    silent.open.add(response);
    response.on("close", () => silent.open.delete(response));
    return; // never answers
  }
  response.writeHead(path.startsWith("/broken") ? 500 : 200).end(path.startsWith("/broken") ? "down" : "ok");
});

function config(dir: string, port: number, hooks: "healthy" | "failing"): string {
  const notify =
    hooks === "healthy"
      ? `  - webhook: "http://127.0.0.1:${port}/ok/${hookSecret}"
  - slack_webhook_env: TEST_SLACK_URL`
      : `  - webhook: "http://127.0.0.1:${port}/broken/${hookSecret}"
    progress_interval: 1s
  - webhook: "http://127.0.0.1:${port}/silent/${hookSecret}"
    progress_interval: 1s`;
  return `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
notify:
${notify}
sources:
  tree:
    engine: files
    path: "${dir}/tree"
    objectives: { rto: 15m }
  notes:
    engine: files
    path: "${dir}/notes"
    objectives: { rto: 10m }
groups:
  pair: [tree, notes]
`;
}

/**
 * A tree that takes seconds to restore, honestly: its bytes (incompressible,
 * so every chunk is decrypted, decompressed and written) and its many small
 * files (each one created, written and fingerprinted).
 */
async function fillTree(root: string): Promise<void> {
  await mkdir(root);
  // Big enough that a restore outlasts a few 1 s progress intervals (128 MiB took under 2 s once
  // restores read ahead and write behind; the test below asserts it is over 2 s).
  for (let i = 0; i < 64; i++) await writeFile(join(root, `blob-${i}.bin`), randomBytes(4 * 1024 * 1024));
  for (let d = 0; d < 3; d++) {
    await mkdir(join(root, `d${d}`));
    for (let f = 0; f < 200; f++)
      await writeFile(join(root, `d${d}`, `f${f}.txt`), randomBytes(1500).toString("base64"));
  }
}

async function prepared(hooks: "healthy" | "failing"): Promise<Workspace> {
  const ws = await workspace((dir) => config(dir, (receiver.address() as AddressInfo).port, hooks));
  await fillTree(join(ws.dir, "tree"));
  await mkdir(join(ws.dir, "notes"));
  await writeFile(join(ws.dir, "notes", "todo.txt"), "restore the database first\n");
  assert.equal((await ws.cli(["init"])).code, 0);
  const backup = await ws.cli(["backup", "tree", "--json"]);
  assert.equal(backup.code, 0, backup.stderr);
  return ws;
}

let base = "";
const slackEnv = () => ({ TEST_SLACK_URL: `${base}/slack/services/${slackToken}` });

/** The messages of one restore at one receiver path, in arrival order. */
const messagesAt = (prefix: string, since: number) =>
  received.filter((message) => message.path.startsWith(prefix) && message.at >= since);

function assertNoSecret(text: string, where: string): void {
  for (const secret of [hookSecret, slackToken, targetPassword])
    assert.ok(!text.includes(secret), `${where} must not contain ${secret}`);
}

/** The JSON examples of docs/notifications.md, by kind. */
async function documentedBodies(): Promise<Map<string, Body>> {
  const doc = await readFile(new URL("../docs/notifications.md", import.meta.url), "utf8");
  const bodies = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => JSON.parse(match[1]!) as Body);
  return new Map(bodies.map((body) => [body.kind as string, body]));
}

/** Field names two levels deep (readiness and the predicted RTO's inside vary with the source). */
function shapeOf(body: Body | undefined): string[] {
  if (!body) return [];
  return Object.entries(body)
    .flatMap(([key, value]) =>
      value && typeof value === "object" && !Array.isArray(value) && key !== "readiness"
        ? [key, ...Object.keys(value).map((inner) => `${key}.${inner}`)]
        : [key],
    )
    .sort();
}

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = Date.now();
  const value = await run();
  return { value, seconds: (Date.now() - started) / 1000 };
}

test("docs/notifications.md states the defaults of the code", async () => {
  const doc = (await readFile(new URL("../docs/notifications.md", import.meta.url), "utf8")).replace(
    /\s+/g,
    " ",
  );
  for (const statement of [
    `(default \`${DEFAULT_PROGRESS_INTERVAL_SECONDS / 60}m\`, seed 003's cadence)`,
    `(\`--notify-timeout\`, default \`${DEFAULT_NOTIFY_TIMEOUT_SECONDS}s\`)`,
    `After SIGTERM the end gets at most ${INTERRUPTED_END_BUDGET_MS / 1000} s`,
    `the throughput over the last ${RATE_WINDOW_MS / 1000} s`,
  ])
    assert.ok(doc.includes(statement), `the doc should say "${statement}"`);
});

describe("restore --notify", () => {
  let healthy: Workspace;
  let failing: Workspace;

  before(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    healthy = await prepared("healthy");
    failing = await prepared("failing");
  });
  after(async () => {
    await healthy?.cleanup();
    await failing?.cleanup();
    for (const response of silent.open) response.destroy();
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  test("start, progress with bytes and an ETA, and the end with the achieved RTO, in that order", async () => {
    const since = Date.now();
    const { value: result, seconds } = await timed(() =>
      healthy.cli(
        [
          "restore",
          "tree",
          "--to",
          join(healthy.dir, "out-1"),
          "--notify",
          "--notify-interval",
          "1s",
          "--json",
        ],
        slackEnv(),
      ),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.json.verified, true);
    assert.ok(seconds > 2, `the restore must take over 2 s for updates to be due (took ${seconds}s)`);

    const webhook = messagesAt("/ok/", since).map((message) => message.body);
    const kinds = webhook.map((body) => body.kind);
    assert.equal(kinds[0], "restore.start");
    assert.equal(kinds.at(-1), "restore.end");
    assert.ok(kinds.slice(1, -1).length >= 1, `at least one progress update: ${kinds.join(", ")}`);
    assert.ok(
      kinds.slice(1, -1).every((kind) => kind === "restore.progress"),
      kinds.join(", "),
    );
    assert.ok(webhook.every((body) => body.schema === "lifeboat.restore-notification/v1"));
    assert.equal(new Set(webhook.map((body) => body.restore)).size, 1, "one restore id on every message");

    const start = webhook[0]!;
    assert.equal(start.source, "tree");
    assert.equal(start.snapshot, result.json.snapshot);
    assert.equal(start.target, join(healthy.dir, "out-1"));
    assert.ok(start.bytes.total > 40 * 1024 * 1024, "the size to restore");
    assert.equal(start.rto.objective, 900);
    assert.equal(start.rto.predicted, null, "no drill history yet");

    const updates = webhook.filter((body) => body.kind === "restore.progress");
    const flowing = updates.find((body) => body.bytes.done > 0 && typeof body.eta.seconds === "number");
    assert.ok(flowing, `an update with bytes done and an ETA: ${JSON.stringify(updates)}`);
    assert.equal(flowing.eta.basis, "measured_rate");
    assert.ok(flowing.bytesPerSecond > 0);
    assert.equal(flowing.bytes.total, start.bytes.total);
    assert.ok(["fetch", "restore", "verify", "finishing"].includes(flowing.phase), flowing.phase);

    const end = webhook.at(-1)!;
    assert.equal(end.outcome, "restored");
    assert.equal(end.verified, true);
    assert.equal(end.error, null);
    // An update came at the 1 s interval before the end, so the restore took more than that.
    assert.ok(end.rto.achieved > 1 && end.rto.achieved <= seconds, `achieved RTO ${end.rto.achieved}s`);
    assert.equal(end.rto.met, true);
    // Every byte the restore read (the tar's trailing padding in the repository is not read).
    assert.ok(end.bytes.done > 0.99 * start.bytes.total && end.bytes.done <= start.bytes.total);
    assert.match(end.restored, /^snapshot [0-9a-f]{12} of tree into /);

    const slack = messagesAt("/slack/", since).map((message) => message.body);
    assert.match(slack[0]!.text, /restore of tree started/);
    assert.ok(
      slack.some((body) => /ETA \d/.test(body.text)),
      "Slack's update says the ETA",
    );
    assert.match(slack.at(-1)!.text, /finished: RTO .*objective 15m 00s ✓/);

    for (const message of messagesAt("/", since)) assertNoSecret(JSON.stringify(message.body), "a body");
    assertNoSecret(result.stdout + result.stderr, "the output");

    // docs/notifications.md shows each body: the same fields, two levels deep, as the real ones.
    const documented = await documentedBodies();
    for (const body of [start, flowing, end])
      assert.deepEqual(
        shapeOf(body),
        shapeOf(documented.get(body.kind)),
        `docs/notifications.md, ${body.kind}`,
      );
  });

  test("a failed restore says so in its end message with its error code; the password in the target URL stays out", async () => {
    const since = Date.now();
    const target = `postgres://app:${targetPassword}@127.0.0.1:1/app`;
    const result = await healthy.cli(["restore", "tree", "--to", target, "--notify", "--json"], slackEnv());
    assert.notEqual(result.code, 0);
    const webhook = messagesAt("/ok/", since).map((message) => message.body);
    assert.deepEqual(
      webhook.map((body) => body.kind),
      ["restore.start", "restore.end"],
    );
    assert.equal(webhook[0]!.target, "postgres://app:***@127.0.0.1:1/app");
    assert.equal(webhook[1]!.outcome, "failed");
    assert.equal(webhook[1]!.error.code, result.json.error.code);
    assert.equal(webhook[1]!.verified, false);
    for (const message of messagesAt("/", since)) assertNoSecret(JSON.stringify(message.body), "a body");
    assertNoSecret(result.stdout + result.stderr, "the output");
  });

  test("receivers that answer 500 or never answer change neither the result nor the exit code, and cost at most the timeout", async () => {
    const plain = await timed(() =>
      failing.cli(["restore", "tree", "--to", join(failing.dir, "plain"), "--json"]),
    );
    assert.equal(plain.value.code, 0, plain.value.stderr);

    const since = Date.now();
    const notified = await timed(() =>
      failing.cli([
        "restore",
        "tree",
        "--to",
        join(failing.dir, "notified"),
        "--notify",
        "--notify-timeout",
        "2s",
        "--json",
      ]),
    );
    const result = notified.value;
    assert.equal(result.code, 0, result.stderr);
    const essentials = (json: Body) => ({
      source: json.source,
      snapshot: json.snapshot,
      verified: json.verified,
      fingerprint: json.fingerprint,
      steps: json.plan.steps.length,
    });
    assert.deepEqual(
      essentials(result.json),
      essentials(plain.value.json),
      "the same result as without --notify",
    );
    // The end message waits at most the 2 s timeout; the rest of the restore does not wait at all. The
    // exact budget is the notifier's unit test; here a wide margin (this machine runs other suites
    // meanwhile) still catches a restore that waits on its receivers: with the silent one it would hang.
    console.log(`restore without --notify ${plain.seconds}s, with failing receivers ${notified.seconds}s`);
    assert.ok(
      notified.seconds < plain.seconds * 1.5 + 2 + 8,
      `with --notify ${notified.seconds}s, without ${plain.seconds}s: at most the delivery timeout more`,
    );
    assert.match(
      result.stderr,
      /restore notification \(restore\.start\) to webhook \(127\.0\.0\.1:\d+\) failed: HTTP 500/,
    );
    assert.match(result.stderr, /the restore goes on/);
    assertNoSecret(result.stdout + result.stderr, "the output");

    // The silent receiver never had two deliveries pending: updates were skipped, not queued.
    assert.ok(silent.most === 1, `${silent.most} deliveries open at once`);
    assert.equal(messagesAt("/silent/", since).at(-1)!.body.kind, "restore.end");
    const broken = messagesAt("/broken/", since).map((message) => message.body.kind);
    assert.equal(broken[0], "restore.start");
    assert.equal(broken.at(-1), "restore.end", "the end is tried even after failures");
  });

  test("with drill history, the start predicts the RTO from the newest drill, scaled to the bytes to restore", async () => {
    const drill = await healthy.cli(["drill", "tree", "--json"]);
    assert.equal(drill.code, 0, drill.stderr);
    const since = Date.now();
    const result = await healthy.cli(
      ["restore", "tree", "--to", join(healthy.dir, "out-predicted"), "--notify", "--notify-interval", "1s"],
      slackEnv(),
    );
    assert.equal(result.code, 0, result.stderr);
    const [start, ...rest] = messagesAt("/ok/", since).map((message) => message.body);
    const { phases } = drill.json;
    const measured = phases.fetch + phases.restore + (phases.verify ?? 0);
    assert.equal(start!.rto.predicted.drill, drill.json.id);
    // The same snapshot as drilled: the prediction is the drill's own restore time.
    assert.ok(Math.abs(start!.rto.predicted.seconds - measured) < 1e-6, JSON.stringify(start!.rto));
    assert.equal(start!.rto.predicted.exceedsObjective, false);
    assert.equal(rest.at(-1)!.kind, "restore.end");
    const slack = messagesAt("/slack/", since).map((message) => message.body.text as string);
    assert.match(slack[0]!, /Predicted RTO \d/);
  });

  test("restore --group: one start and end for the bundle, each member's phase and the bytes of all in the updates", async () => {
    const backup = await healthy.cli(["backup", "--group", "pair", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    const since = Date.now();
    const result = await healthy.cli(
      [
        "restore",
        "--group",
        "pair",
        "--to",
        `tree=${join(healthy.dir, "group-tree")}`,
        "--to",
        `notes=${join(healthy.dir, "group-notes")}`,
        "--notify",
        "--notify-interval",
        "1s",
        "--json",
      ],
      slackEnv(),
    );
    assert.equal(result.code, 0, result.stderr);
    const bodies = messagesAt("/ok/", since).map((message) => message.body);
    const [start, end] = [bodies[0]!, bodies.at(-1)!];
    assert.equal(start.kind, "restore.start");
    assert.equal(start.group, true);
    assert.equal(start.source, "pair");
    assert.equal(start.snapshot, result.json.bundle);
    assert.match(start.target, /^tree=.*group-tree, notes=.*group-notes$/);
    assert.equal(start.rto.objective, 600, "the tightest objective of the members");
    const update = bodies.find((body) => body.kind === "restore.progress" && body.bytes.done > 0);
    assert.ok(update, `a progress update with bytes: ${JSON.stringify(bodies.map((body) => body.kind))}`);
    assert.match(update.phase, /tree: \w+/);
    assert.equal(end.kind, "restore.end");
    assert.equal(end.outcome, "restored");
    assert.equal(end.verified, true);
    assert.equal(end.restored, "tree, notes");
  });

  test("SIGTERM stops the restore promptly, and the end message says it was interrupted", async () => {
    const since = Date.now();
    const child = spawn(
      process.execPath,
      [
        cliPath,
        "-c",
        healthy.configFile,
        "restore",
        "tree",
        "--to",
        join(healthy.dir, "out-term"),
        "--notify",
        "--notify-interval",
        "1s",
      ],
      { env: { ...process.env, ...healthy.env, ...slackEnv() }, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    for (
      let i = 0;
      i < 500 && !messagesAt("/ok/", since).some((m) => m.body.kind === "restore.progress");
      i++
    )
      await sleep(10);
    assert.ok(
      messagesAt("/ok/", since).some((m) => m.body.kind === "restore.progress"),
      "a progress update before the signal",
    );
    const killedAt = Date.now();
    child.kill("SIGTERM");
    const code = await exited;
    const stopSeconds = (Date.now() - killedAt) / 1000;
    assert.notEqual(code, 0);
    assert.ok(stopSeconds < 5, `stopped ${stopSeconds}s after SIGTERM`);
    const end = messagesAt("/ok/", since).at(-1)!.body;
    assert.equal(end.kind, "restore.end");
    assert.equal(end.outcome, "interrupted");
    assert.equal(end.error.code, "INTERRUPTED");
    // Fault 4: the interrupted restore left no target that could pass for a complete one.
    assert.equal(existsSync(join(healthy.dir, "out-term")), false);
    await sleep(1_500);
    assert.equal(messagesAt("/ok/", since).at(-1)!.body.kind, "restore.end", "no update after the end");
    assertNoSecret(stderr, "the output");
  });
});
