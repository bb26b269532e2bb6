import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { RestoreNotifier } from "./restore-notifier.ts";
import type { RestoreStartFacts } from "./restore-messages.ts";

const facts: RestoreStartFacts = {
  restore: "r1",
  startedAt: "2026-12-03T14:00:00.000Z",
  host: "h",
  source: "uploads",
  group: false,
  snapshot: "ab".repeat(32),
  target: "/srv/uploads",
  totalBytes: 1_000_000,
  partial: false,
  rtoObjectiveSeconds: 900,
  prediction: {
    seconds: 100,
    afterTransferSeconds: 10,
    drill: "d1",
    drilledAt: "2026-12-01T00:00:00.000Z",
    bytesPerSecond: 1,
  },
};

const quiet = { warn: () => {}, debug: () => {} };

test("the ETA comes from the prediction before bytes flow, then from the measured rate", () => {
  let now = 0;
  const notifier = new RestoreNotifier({
    targets: [],
    facts,
    log: quiet,
    timeoutMs: 1000,
    version: "test",
    now: () => now,
  });
  notifier.begin();
  const sink = notifier.sink("uploads");
  sink.start("restore uploads", 1_000_000);
  now = 2_000;
  assert.deepEqual(
    {
      phase: notifier.progress().phase,
      eta: notifier.progress().etaSeconds,
      basis: notifier.progress().etaBasis,
    },
    { phase: "fetch", eta: 98, basis: "predicted_rto" },
  );
  for (let t = 2_000; t <= 12_000; t += 1_000) {
    now = t;
    sink.advance(50_000); // 50 kB/s
  }
  sink.phase("restore");
  const progress = notifier.progress();
  assert.equal(progress.phase, "restore");
  assert.equal(progress.bytesDone, 550_000);
  assert.equal(progress.etaBasis, "measured_rate");
  // 450 kB left at the window's rate (550 kB over 12 s), plus the 10 s predicted after the transfer.
  assert.ok(
    Math.abs(progress.etaSeconds! - (450_000 / (550_000 / 12) + 10)) < 1e-6,
    String(progress.etaSeconds),
  );
});

test("the end waits at most its budget for a receiver that never answers, and names no path in the log", async () => {
  const open = new Set<ServerResponse>();
  const paths: string[] = [];
  const server = createServer((request, response) => {
    paths.push(request.url ?? "");
    open.add(response); // never answers
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/s3cretPathValue`;
  const warnings: string[] = [];
  const notifier = new RestoreNotifier({
    targets: [{ kind: "webhook", url, intervalSeconds: 3600 }],
    facts,
    log: { warn: (message) => warnings.push(message), debug: () => {} },
    timeoutMs: 60_000,
    version: "test",
  });
  try {
    notifier.begin();
    const started = Date.now();
    await notifier.finish(
      { outcome: "restored", verified: true, restored: "x", readiness: null, error: null },
      400,
    );
    const waited = Date.now() - started;
    assert.ok(waited < 1_000, `finish took ${waited} ms with a 400 ms budget`);
    assert.ok(warnings.length > 0, "the lost end message is a warning");
    assert.ok(
      warnings.every((warning) => !warning.includes("s3cretPathValue")),
      warnings.join("\n"),
    );
    assert.ok(warnings.some((warning) => warning.includes("webhook (127.0.0.1:")));
  } finally {
    for (const response of open) response.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
