// The nats engine against real nats-server processes (each on its own free
// port and store dir): a round trip of two streams with headers, binary
// payloads, deletion gaps and durable consumers that must resume exactly
// where they were; damaged artifacts, interrupted captures, unreachable and
// password-protected sources, restore guards, identity and empty restores.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { connect as connectTcp } from "node:net";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import {
  AckPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type JetStreamManager,
  type StoredMsg,
} from "@nats-io/jetstream";
import { natsEngine } from "../src/engines/nats/index.ts";
import { natsSourceSchema, type NatsSourceConfig } from "../src/engines/nats/config.ts";
import { compareFingerprints, dataHeld, isEmptyFingerprint } from "../src/domain/fingerprint.ts";
import { fingerprintChecks } from "../src/drill/checks.ts";
import { isLifeboatError } from "../src/errors.ts";
import type { ArtifactRef } from "../src/domain/snapshot.ts";
import type { Readable } from "node:stream";
import { engineWorkdir } from "./support/engine-workdir.ts";
import { CorruptArtifacts, MemoryArtifacts } from "./support/memory-artifacts.ts";
import { freePort } from "./support/services.ts";
import { startNatsServer, type NatsTestServer } from "./support/nats-server.ts";

const workdir = engineWorkdir("nats");
const servers: NatsTestServer[] = [];
const connections: NatsConnection[] = [];

async function server(options: Parameters<typeof startNatsServer>[0] = {}): Promise<NatsTestServer> {
  const started = await startNatsServer(options);
  servers.push(started);
  return started;
}

async function manager(url: string): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  const nc = await connect({ servers: url });
  connections.push(nc);
  return { nc, jsm: await jetstreamManager(nc) };
}

const source = (url: string, extra: Partial<NatsSourceConfig> = {}): NatsSourceConfig => ({
  engine: "nats",
  url,
  ...extra,
});

after(async () => {
  for (const nc of connections) await nc.close().catch(() => {});
  for (const started of servers) await started.stop();
});

/** Every message of a stream by sequence (null where deleted), as comparable plain values. */
async function messagesOf(jsm: JetStreamManager, stream: string) {
  const { state } = await jsm.streams.info(stream);
  const found: (null | { seq: number; subject: string; time: string; headers: string; data: string })[] = [];
  for (let seq = 1; seq <= state.last_seq; seq++) {
    const message: StoredMsg | null = await jsm.streams.getMessage(stream, { seq });
    found.push(
      message
        ? {
            seq: message.seq,
            subject: message.subject,
            time: message.time.toISOString(),
            headers: message.header ? JSON.stringify([...message.header]) : "",
            data: Buffer.from(message.data).toString("hex"),
          }
        : null,
    );
  }
  return found;
}

async function consumerPositions(jsm: JetStreamManager, stream: string) {
  const found = [];
  for await (const info of jsm.consumers.list(stream)) {
    found.push({
      name: info.name,
      delivered: info.delivered.stream_seq,
      deliveredConsumer: info.delivered.consumer_seq,
      ackFloor: info.ack_floor.stream_seq,
      ackPending: info.num_ack_pending,
      pending: info.num_pending,
      filter: info.config.filter_subject,
      ackWait: info.config.ack_wait,
    });
  }
  return found.sort((left, right) => left.name.localeCompare(right.name));
}

/** ORDERS (headers, binary data, gaps, two pull consumers) and EVENTS (two subject filters, head deleted). */
async function seedTwoStreams(url: string): Promise<void> {
  const { nc, jsm } = await manager(url);
  const js = jetstream(nc);
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  await jsm.streams.add({ name: "EVENTS", subjects: ["events.*", "audit.>"] });
  for (let i = 1; i <= 40; i++) {
    const h = headers();
    h.set("Trace-Id", `trace-${i}`);
    h.append("X-Tag", "a");
    h.append("X-Tag", `b${i % 3}`);
    const payload = Buffer.concat([Buffer.from([0, 255, 13, 10, i]), randomBytes(i * 7)]);
    await js.publish(i % 2 ? `orders.eu.created` : `orders.us.${i}.shipped`, payload, { headers: h });
  }
  for (let i = 1; i <= 30; i++) {
    await js.publish(i % 3 ? `events.e${i % 4}` : `audit.login.u${i}`, i % 5 ? `event ${i} ✓` : "");
  }
  for (const seq of [5, 6, 20]) await jsm.streams.deleteMessage("ORDERS", seq);
  await jsm.streams.deleteMessage("EVENTS", 1);

  await jsm.consumers.add("ORDERS", { durable_name: "billing", ack_policy: AckPolicy.Explicit });
  await jsm.consumers.add("ORDERS", {
    durable_name: "shipping",
    ack_policy: AckPolicy.Explicit,
    ack_wait: 1_000_000_000, // 1 s, so the restored server redelivers the unacknowledged soon
  });
  await jsm.consumers.add("EVENTS", {
    durable_name: "auditor",
    ack_policy: AckPolicy.Explicit,
    filter_subject: "audit.>",
  });
  const billing = await js.consumers.get("ORDERS", "billing");
  for await (const message of await billing.fetch({ max_messages: 10, expires: 2000 }))
    await message.ackAck();
  const shipping = await js.consumers.get("ORDERS", "shipping");
  let taken = 0;
  for await (const message of await shipping.fetch({ max_messages: 8, expires: 2000 })) {
    if (++taken <= 3) await message.ackAck(); // the other five stay pending
  }
  const auditor = await js.consumers.get("EVENTS", "auditor");
  for await (const message of await auditor.fetch({ max_messages: 4, expires: 2000 })) await message.ackAck();
  await nc.flush();
}

describe("nats engine", () => {
  let sourceServer: NatsTestServer;
  let targetServer: NatsTestServer;
  let captured: Awaited<ReturnType<typeof natsEngine.capture>>;
  const artifacts = new MemoryArtifacts();

  before(async () => {
    sourceServer = await server({ name: "lifeboat-test-source" });
    targetServer = await server();
    await seedTwoStreams(sourceServer.url);
    captured = await natsEngine.capture(source(sourceServer.url), artifacts, workdir.context);
  });

  test("capture stores each stream as its own artifact and fingerprints streams and consumers", async () => {
    assert.deepEqual(
      artifacts.artifacts.map((artifact) => artifact.name),
      ["stream-EVENTS.snapshot", "stream-ORDERS.snapshot", "streams.json"],
    );
    const counts = captured.fingerprint.counts;
    assert.equal(counts["messages:ORDERS"], 37);
    assert.equal(counts["first_seq:ORDERS"], 1);
    assert.equal(counts["last_seq:ORDERS"], 40);
    assert.equal(counts["deleted:ORDERS"], 3);
    assert.equal(counts["messages:EVENTS"], 29);
    assert.equal(counts["first_seq:EVENTS"], 2);
    assert.equal(counts["consumers:ORDERS"], 2);
    // billing took 10 messages (1-4, 7-12: 5 and 6 are deleted) and acknowledged them all.
    assert.equal(counts["ack_floor:ORDERS/billing"], 12);
    assert.equal(counts["delivered:ORDERS/billing"], 12);
    assert.equal(counts["ack_pending:ORDERS/shipping"], 5);
    assert.equal(counts["ack_floor:ORDERS/shipping"], 3);
    assert.equal(counts["pending:ORDERS/billing"], 37 - 10);
    assert.equal(counts["ack_floor:EVENTS/auditor"] !== undefined, true);
    assert.deepEqual(captured.engineMeta.streams, ["EVENTS", "ORDERS"]);
    assert.deepEqual(captured.engineMeta.busy_streams, []);
    assert.equal(captured.engineMeta.server_name, "lifeboat-test-source");
    assert.ok(Date.parse(captured.consistentAt) <= Date.now());
    assert.deepEqual(await readdir(workdir.context.tempDir), [], "spooled snapshots are removed");
  });

  test("round trip: every message, header, gap and consumer position comes back, and consumers resume", async () => {
    assert.equal((await natsEngine.inspectTarget(targetServer.url, workdir.context)).empty, true);
    const phases: string[] = [];
    await natsEngine.restore(
      { artifacts, engineMeta: captured.engineMeta },
      targetServer.url,
      {},
      { ...workdir.context, onPhase: (phase) => phases.push(phase) },
    );
    assert.deepEqual(phases, ["restore"]);
    const restored = await natsEngine.fingerprint(targetServer.url, workdir.context);
    assert.deepEqual(compareFingerprints(captured.fingerprint, restored), []);

    const { jsm: sourceJsm } = await manager(sourceServer.url);
    const { nc: targetNc, jsm: targetJsm } = await manager(targetServer.url);
    for (const stream of ["ORDERS", "EVENTS"]) {
      const expected = await messagesOf(sourceJsm, stream);
      assert.deepEqual(await messagesOf(targetJsm, stream), expected, `messages of ${stream}`);
      assert.ok(
        expected.some((message) => message === null),
        `${stream} has gaps`,
      );
      assert.deepEqual(
        await consumerPositions(targetJsm, stream),
        await consumerPositions(sourceJsm, stream),
      );
      const sourceConfig = (await sourceJsm.streams.info(stream)).config;
      assert.deepEqual((await targetJsm.streams.info(stream)).config.subjects, sourceConfig.subjects);
    }
    const orders = await messagesOf(targetJsm, "ORDERS");
    assert.match(orders[0]!.headers, /Trace-Id/);
    assert.match(orders[0]!.headers, /"X-Tag",\["a","b1"\]/);

    // Consumers on the restored server carry on exactly where the source's were.
    const js = jetstream(targetNc);
    const billing = await (await js.consumers.get("ORDERS", "billing")).next({ expires: 2000 });
    assert.equal(billing?.seq, 13, "billing gets the first message it never received");
    assert.equal(billing?.info.deliveryCount, 1);
    await billing?.ackAck();
    await new Promise((resolve) => setTimeout(resolve, 1500)); // shipping's ack_wait (1 s) runs out
    const shipping = await (await js.consumers.get("ORDERS", "shipping")).next({ expires: 3000 });
    assert.equal(shipping?.seq, 4, "shipping gets its oldest unacknowledged message again");
    assert.equal(shipping?.info.deliveryCount, 2);
    const auditorInfo = await targetJsm.consumers.info("EVENTS", "auditor");
    const auditor = await (await js.consumers.get("EVENTS", "auditor")).next({ expires: 2000 });
    assert.ok(auditor);
    assert.match(auditor.subject, /^audit\./);
    assert.ok(auditor.seq > auditorInfo.ack_floor.stream_seq);
    assert.equal(auditor.info.deliveryCount, 1);
  });

  test("a restore into a server that has the streams is refused; --clean replaces only them", async () => {
    const occupied = await server();
    const { nc, jsm } = await manager(occupied.url);
    await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
    await jsm.streams.add({ name: "OTHER", subjects: ["other.>"] });
    await jetstream(nc).publish("orders.old", "old");
    await jetstream(nc).publish("other.keep", "keep");
    const state = await natsEngine.inspectTarget(occupied.url, workdir.context);
    assert.equal(state.empty, false);
    assert.match(state.description, /2 streams: ORDERS, OTHER/);
    await assert.rejects(
      natsEngine.restore({ artifacts, engineMeta: captured.engineMeta }, occupied.url, {}, workdir.context),
      (error) => isLifeboatError(error, "TARGET_NOT_EMPTY") && /ORDERS/.test(error.message),
    );
    assert.equal((await jsm.streams.info("ORDERS")).state.messages, 1, "the old stream is untouched");
    assert.deepEqual(
      (await jsm.streams.names().next()).sort(),
      ["ORDERS", "OTHER"],
      "nothing was restored beside it",
    );

    await natsEngine.restore(
      { artifacts, engineMeta: captured.engineMeta },
      occupied.url,
      { clean: true },
      workdir.context,
    );
    assert.equal((await jsm.streams.info("ORDERS")).state.messages, 37);
    assert.equal((await jsm.streams.info("EVENTS")).state.messages, 29);
    assert.equal((await jsm.streams.info("OTHER")).state.messages, 1, "--clean leaves other streams alone");
    // The fingerprint covers the whole account, so the extra stream is named by verification.
    const differences = compareFingerprints(
      captured.fingerprint,
      await natsEngine.fingerprint(occupied.url, workdir.context),
    );
    assert.ok(differences.length > 0 && differences.every((difference) => difference.key.endsWith(":OTHER")));
  });

  test("a damaged artifact fails the restore with CHECKSUM_MISMATCH and leaves none of the streams", async () => {
    const fresh = await server();
    const corrupt = new CorruptArtifacts();
    for (const [name, bytes] of artifacts.stored) await corrupt.write(name, [bytes] as unknown as Readable);
    corrupt.corrupt = "stream-ORDERS.snapshot"; // restored second: EVENTS is created first, then removed
    const lines: string[] = [];
    const log = { ...workdir.context.log, info: (line: string) => lines.push(line) };
    await assert.rejects(
      natsEngine.restore(
        { artifacts: corrupt, engineMeta: captured.engineMeta },
        fresh.url,
        {},
        { ...workdir.context, log },
      ),
      (error) => isLifeboatError(error, "CHECKSUM_MISMATCH") && /stream-ORDERS\.snapshot/.test(error.message),
    );
    assert.ok(
      lines.some((line) => /deleted stream EVENTS it had restored/.test(line)),
      lines.join("\n"),
    );
    const { jsm } = await manager(fresh.url);
    assert.deepEqual(await jsm.streams.names().next(), [], "no stream, whole or partial, is left");
    // The half-sent ORDERS never became a stream, so running the restore again just works.
    await natsEngine.restore({ artifacts, engineMeta: captured.engineMeta }, fresh.url, {}, workdir.context);
    assert.deepEqual(
      compareFingerprints(captured.fingerprint, await natsEngine.fingerprint(fresh.url, workdir.context)),
      [],
    );
  });

  test("a flipped byte the repository did not catch is refused by the server's own checks", async () => {
    const fresh = await server();
    const flipped = new MemoryArtifacts();
    for (const [name, bytes] of artifacts.stored) {
      const copy = Buffer.from(bytes);
      if (name === "stream-ORDERS.snapshot") copy[Math.floor(copy.length / 2)]! ^= 0x40;
      await flipped.write(name, [copy] as unknown as Readable);
    }
    await assert.rejects(
      natsEngine.restore(
        { artifacts: flipped, engineMeta: captured.engineMeta },
        fresh.url,
        {},
        workdir.context,
      ),
      (error) => isLifeboatError(error, "VERIFICATION_FAILED") && /ORDERS/.test(error.message),
    );
    const { jsm } = await manager(fresh.url);
    assert.deepEqual(await jsm.streams.names().next(), [], "EVENTS, restored first, was deleted again");
  });

  test("the source is recognised as the target, under any address; another server is not", async () => {
    const config = source(sourceServer.url);
    const same = await natsEngine.identifyTarget(config, sourceServer.url, workdir.context);
    assert.equal(same.verdict, "same");
    const alias = `nats://localhost:${sourceServer.port}`;
    assert.equal((await natsEngine.identifyTarget(config, alias, workdir.context)).verdict, "same");
    assert.equal(
      (await natsEngine.identifyTarget(config, targetServer.url, workdir.context)).verdict,
      "different",
    );
    const deadPort = await freePort();
    const unreachable = await natsEngine.identifyTarget(
      config,
      `nats://127.0.0.1:${deadPort}`,
      workdir.context,
    );
    assert.equal(unreachable.verdict, "unknown");
    // The source down: only the recorded server_id of the snapshot can tell.
    const gone = source(`nats://127.0.0.1:${deadPort}`);
    const byRecord = await natsEngine.identifyTarget(
      gone,
      sourceServer.url,
      workdir.context,
      captured.engineMeta,
    );
    assert.equal(byRecord.verdict, "same");
    assert.equal(
      (await natsEngine.identifyTarget(gone, targetServer.url, workdir.context, captured.engineMeta)).verdict,
      "unknown",
    );
  });

  test("`streams:` limits the capture; a missing or memory stream is named", async () => {
    const { jsm } = await manager(sourceServer.url);
    await jsm.streams.add({ name: "VOLATILE", subjects: ["volatile.>"], storage: StorageType.Memory });
    try {
      const only = await natsEngine.capture(
        source(sourceServer.url, { streams: ["EVENTS"] }),
        new MemoryArtifacts(),
        workdir.context,
      );
      assert.deepEqual(
        Object.keys(only.fingerprint.counts).filter((key) => key.startsWith("messages:")),
        ["messages:EVENTS"],
      );
      await assert.rejects(
        natsEngine.capture(
          source(sourceServer.url, { streams: ["NOPE"] }),
          new MemoryArtifacts(),
          workdir.context,
        ),
        (error) =>
          isLifeboatError(error, "SOURCE_TOOL_FAILED") &&
          /NOPE/.test(error.message) &&
          /streams:/.test(error.hint),
      );
      await assert.rejects(
        natsEngine.capture(
          source(sourceServer.url, { streams: ["VOLATILE"] }),
          new MemoryArtifacts(),
          workdir.context,
        ),
        (error) => isLifeboatError(error, "SOURCE_TOOL_FAILED") && /memory/.test(error.message),
      );
      const warnings: string[] = [];
      const log = { ...workdir.context.log, warn: (line: string) => warnings.push(line) };
      const all = await natsEngine.capture(source(sourceServer.url), new MemoryArtifacts(), {
        ...workdir.context,
        log,
      });
      assert.deepEqual(all.engineMeta.skipped_memory_streams, ["VOLATILE"]);
      assert.equal(all.fingerprint.counts["messages:VOLATILE"], undefined);
      assert.match(warnings.join("\n"), /VOLATILE is a memory stream/);
    } finally {
      await jsm.streams.delete("VOLATILE");
    }
  });

  test("targets must be nats:// URLs without a password", () => {
    assert.equal(natsEngine.checkTarget("nats://127.0.0.1:4333"), "nats://127.0.0.1:4333");
    for (const bad of ["/var/restore", "postgres://h/db", "nats://u:hunter2-secret@127.0.0.1:4333"]) {
      assert.throws(
        () => natsEngine.checkTarget(bad),
        (error) => isLifeboatError(error, "BAD_ARGUMENT") && !error.message.includes("hunter2-secret"),
      );
    }
    const withSecret = natsSourceSchema.safeParse({
      engine: "nats",
      url: "nats://app:hunter2@127.0.0.1:4222",
    });
    assert.equal(withSecret.success, false);
    assert.match(JSON.stringify(withSecret.error?.issues), /password_env/);
    const token = natsSourceSchema.safeParse({
      engine: "nats",
      url: "nats://127.0.0.1:4222",
      token_env: "NATS_TOKEN",
    });
    assert.equal(token.success, true);
    assert.equal(
      natsSourceSchema.safeParse({ engine: "nats", url: "nats://h:4222", user: "app" }).success,
      false,
    );
  });
});

describe("nats engine faults", () => {
  test("an unreachable source is SOURCE_UNREACHABLE", async () => {
    const port = await freePort();
    await assert.rejects(
      natsEngine.capture(source(`nats://127.0.0.1:${port}`), new MemoryArtifacts(), workdir.context),
      (error) => isLifeboatError(error, "SOURCE_UNREACHABLE") && error.message.includes(`127.0.0.1:${port}`),
    );
  });

  test("a wrong password is refused clearly and never shown; the right one works", async () => {
    const password = `right-${randomBytes(6).toString("hex")}`;
    const guarded = await server({ auth: { user: "app", password } });
    const { nc, jsm } = await (async () => {
      const connection = await connect({ servers: guarded.url, user: "app", pass: password });
      connections.push(connection);
      return { nc: connection, jsm: await jetstreamManager(connection) };
    })();
    await jsm.streams.add({ name: "SECURE", subjects: ["secure.>"] });
    await jetstream(nc).publish("secure.one", "1");
    const variable = "LIFEBOAT_TEST_NATS_PASSWORD";
    const config = source(guarded.url, { user: "app", password_env: variable });
    const wrong = `wrong-${randomBytes(6).toString("hex")}`;
    process.env[variable] = wrong;
    try {
      await assert.rejects(natsEngine.capture(config, new MemoryArtifacts(), workdir.context), (error) => {
        assert.ok(isLifeboatError(error, "SOURCE_UNREACHABLE"));
        const shown = `${error.message} ${error.hint} ${JSON.stringify(error.details)}`;
        assert.match(error.message, /refused the login of user app/);
        assert.match(error.hint, new RegExp(variable));
        assert.ok(!shown.includes(wrong) && !shown.includes(password), "no password in the error");
        return true;
      });
      await assert.rejects(
        natsEngine.capture(source(guarded.url), new MemoryArtifacts(), workdir.context),
        (error) => isLifeboatError(error, "SOURCE_UNREACHABLE") && /password_env/.test(error.hint),
      );
      process.env[variable] = password;
      const good = await natsEngine.capture(config, new MemoryArtifacts(), workdir.context);
      assert.equal(good.fingerprint.counts["messages:SECURE"], 1);
      assert.ok(!JSON.stringify(good).includes(password));
    } finally {
      delete process.env[variable];
    }
  });

  test("an interrupted capture rejects, records no stream list, and leaves the server able to snapshot", async () => {
    const busy = await server();
    const { nc, jsm } = await manager(busy.url);
    for (const name of ["A", "B", "C"]) {
      await jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`] });
      for (let i = 0; i < 200; i++) nc.publish(`${name.toLowerCase()}.x`, randomBytes(2000));
    }
    await nc.flush();
    const controller = new AbortController();
    const written: string[] = [];
    const sink = new MemoryArtifacts();
    const aborting = {
      write: async (name: string, data: Readable | AsyncIterable<Uint8Array>): Promise<ArtifactRef> => {
        written.push(name);
        const ref = await sink.write(name, data);
        controller.abort(new Error("interrupted by the test"));
        return ref;
      },
    };
    await assert.rejects(
      natsEngine.capture(source(busy.url), aborting, { ...workdir.context, signal: controller.signal }),
      /interrupted by the test/,
    );
    assert.deepEqual(written, ["stream-A.snapshot"], "stopped before the next stream and the stream list");
    assert.deepEqual(await readdir(workdir.context.tempDir), []);
    const again = await natsEngine.capture(source(busy.url), new MemoryArtifacts(), workdir.context);
    assert.equal(again.fingerprint.counts["messages:C"], 200);
  });

  test("a capture aborted while the snapshot streams in rejects and removes its spool", async () => {
    const big = await server();
    const { nc, jsm } = await manager(big.url);
    await jsm.streams.add({ name: "BIG", subjects: ["big"] });
    const js = jetstream(nc);
    for (let i = 0; i < 300; i++) await js.publish("big", randomBytes(64 * 1024));
    const controller = new AbortController();
    const watcher = setInterval(() => {
      void readdir(workdir.context.tempDir).then((names) => {
        if (names.some((name) => name.endsWith(".snapshot")))
          controller.abort(new Error("stopped mid-snapshot"));
      });
    }, 1);
    try {
      const sink = new MemoryArtifacts();
      await assert.rejects(
        natsEngine.capture(source(big.url), sink, { ...workdir.context, signal: controller.signal }),
        /stopped mid-snapshot/,
      );
      assert.deepEqual(sink.artifacts, []);
    } finally {
      clearInterval(watcher);
    }
    assert.deepEqual(await readdir(workdir.context.tempDir), []);
    // The server noticed we left: a new snapshot of the same stream is not "already in progress".
    const again = await natsEngine.capture(source(big.url), new MemoryArtifacts(), workdir.context);
    assert.equal(again.fingerprint.counts["messages:BIG"], 300);
  });

  test("a stream that changes during every snapshot is fingerprinted from its restored copy", async () => {
    const live = await server();
    const { nc, jsm } = await manager(live.url);
    await jsm.streams.add({ name: "LIVE", subjects: ["live.>"] });
    for (let i = 0; i < 3000; i++) nc.publish("live.seed", randomBytes(1024));
    await nc.flush();
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        nc.publish("live.more", randomBytes(512));
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const artifactsOfLive = new MemoryArtifacts();
    let result;
    try {
      result = await natsEngine.capture(source(live.url), artifactsOfLive, workdir.context);
    } finally {
      publishing = false;
      await publisher;
    }
    assert.deepEqual(result.engineMeta.busy_streams, ["LIVE"]);
    const scratch = await natsEngine.provisionScratch!(
      source(live.url),
      { allowSourceServer: false, label: "live" },
      workdir.context,
    );
    try {
      await natsEngine.restore(
        { artifacts: artifactsOfLive, engineMeta: result.engineMeta },
        scratch.target,
        {},
        workdir.context,
      );
      assert.deepEqual(
        compareFingerprints(
          result.fingerprint,
          await natsEngine.fingerprint(scratch.target, workdir.context),
        ),
        [],
        "the fingerprint describes the stored copy, not the moving source",
      );
    } finally {
      await scratch.destroy();
    }
  });

  test("a throwaway scratch server admits only Lifeboat and is removed by destroy", async () => {
    const origin = await server();
    const scratch = await natsEngine.provisionScratch!(
      source(origin.url),
      { allowSourceServer: false, label: "drill-1" },
      workdir.context,
    );
    const port = Number(new URL(scratch.target).port);
    assert.equal(scratch.env.LIFEBOAT_TARGET, scratch.target);
    assert.ok(!Object.values(scratch.env).some((value) => value.includes("@")));
    await assert.rejects(connect({ servers: scratch.target, reconnect: false }), /Authorization/i);
    assert.equal((await natsEngine.inspectTarget(scratch.target, workdir.context)).empty, true);
    assert.equal(
      (await natsEngine.identifyTarget(source(origin.url), scratch.target, workdir.context)).verdict,
      "different",
    );
    await scratch.destroy();
    await scratch.destroy();
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connectTcp(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(false)));
      socket.once("error", () => resolve(true));
    });
    assert.ok(refused, "the throwaway server is gone");
  });

  test("a restore of nothing is caught: an empty stream's fingerprint holds no data", async () => {
    const empty = await server();
    const { jsm } = await manager(empty.url);
    await jsm.streams.add({ name: "NOTHING", subjects: ["nothing.>"] });
    const nothing = new MemoryArtifacts();
    const result = await natsEngine.capture(source(empty.url), nothing, workdir.context);
    assert.equal(result.fingerprint.counts["messages:NOTHING"], 0);
    assert.ok(isEmptyFingerprint(result.fingerprint));
    const target = await server();
    await natsEngine.restore(
      { artifacts: nothing, engineMeta: result.engineMeta },
      target.url,
      {},
      workdir.context,
    );
    const restored = await natsEngine.fingerprint(target.url, workdir.context);
    const [fingerprintCheck, notEmpty] = fingerprintChecks(result.fingerprint, restored);
    assert.equal(fingerprintCheck!.result, "passed");
    assert.equal(notEmpty!.result, "failed", "a drill of an empty restore fails");
    assert.equal(dataHeld(restored).empty, true);
  });
});
