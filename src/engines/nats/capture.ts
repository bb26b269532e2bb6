// Capture a NATS JetStream server's streams with the server's own snapshot
// facility (messages, deleted-message map, durable consumers and their ack
// state), one stream at a time, each into its own artifact.
//
// JetStream has no cross-stream transaction, and even one stream's snapshot
// is not a single instant: the server reports the state when it begins, then
// reads message blocks (publishes arriving meanwhile may land in the copy)
// and the consumers' state last. So each snapshot is bracketed by two
// readings of the stream and its consumers. When nothing moved in between,
// that reading is exactly what the snapshot holds. When something did, the
// snapshot is taken again (up to three times); a stream that never holds
// still is measured instead by restoring its snapshot into a throwaway local
// nats-server, so the fingerprint always describes the stored bytes.

import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { LifeboatError } from "../../errors.ts";
import type { ArtifactSink, CaptureResult, EngineContext } from "../engine.ts";
import type { NatsSourceConfig } from "./config.ts";
import { openManager, sourceEndpoint, withConnection } from "./connection.ts";
import {
  factsFrom,
  fingerprintOf,
  firstChange,
  listStreamNames,
  readConsumers,
  readStreamFacts,
} from "./facts.ts";
import { measureSnapshot } from "./measure.ts";
import { receiveSnapshot } from "./snapshot-receive.ts";
import {
  manifestArtifact,
  manifestFormat,
  snapshotArtifact,
  type CapturedStream,
} from "./stream-manifest.ts";

const attempts = 3;

export async function captureNats(
  source: NatsSourceConfig,
  sink: ArtifactSink,
  context: EngineContext,
): Promise<CaptureResult> {
  const endpoint = sourceEndpoint(source);
  return withConnection(endpoint, "SOURCE_UNREACHABLE", async (connection) => {
    const jsm = await openManager(connection, "source");
    const info = connection.info;
    const names = source.streams ?? (await listStreamNames(jsm));
    const captured: CapturedStream[] = [];
    const skipped: string[] = [];
    for (const name of names) {
      context.signal?.throwIfAborted();
      const streamInfo = await jsm.streams.info(name).catch((error: unknown) => {
        throw new LifeboatError(
          "SOURCE_TOOL_FAILED",
          `stream ${name} on ${endpoint.address}: ${(error as Error).message}`,
          {
            cause: error,
            hint: source.streams ? "Check the names under `streams:` in lifeboat.yaml." : undefined,
          },
        );
      });
      if (streamInfo.config.storage === "memory") {
        // The server cannot snapshot memory streams; their data does not survive a restart anyway.
        if (source.streams) {
          throw new LifeboatError(
            "SOURCE_TOOL_FAILED",
            `stream ${name} keeps its messages in memory, which JetStream cannot snapshot`,
            {
              hint: "Remove it from `streams:`, or change its storage to file.",
            },
          );
        }
        context.log.warn(`nats: stream ${name} is a memory stream, which JetStream cannot snapshot: skipped`);
        skipped.push(name);
        continue;
      }
      captured.push(await captureStream(connection, jsm, name, sink, context));
    }
    // The stream list last: a capture interrupted before this point has no manifest to restore from.
    const manifest = { format: manifestFormat, streams: captured };
    await sink.write(manifestArtifact, Readable.from([Buffer.from(JSON.stringify(manifest, null, 2))]));
    const times = captured.map((stream) => stream.takenAt).sort();
    return {
      consistentAt: times[0] ?? new Date().toISOString(),
      engineMeta: {
        address: endpoint.address,
        server_id: info?.server_id,
        server_name: info?.server_name,
        server_version: info?.version,
        ...(info?.cluster ? { cluster: info.cluster } : {}),
        streams: captured.map((stream) => stream.name),
        ...(skipped.length > 0 ? { skipped_memory_streams: skipped } : {}),
        busy_streams: captured.filter((stream) => stream.measured !== "quiet").map((stream) => stream.name),
      },
      fingerprint: fingerprintOf(captured.map((stream) => stream.facts)),
    };
  });
}

async function captureStream(
  connection: NatsConnection,
  jsm: JetStreamManager,
  name: string,
  sink: ArtifactSink,
  context: EngineContext,
): Promise<CapturedStream> {
  for (let attempt = 1; ; attempt++) {
    const spool = join(context.tempDir, `nats-${randomBytes(6).toString("hex")}.snapshot`);
    try {
      const takenAt = new Date().toISOString();
      const before = await jsm.streams.info(name);
      const consumers = await readConsumers(jsm, name);
      const beforeFacts = factsFrom(name, before.state, consumers);
      const { response, bytes } = await receiveSnapshot(connection, name, spool, context.signal);
      const afterFacts = await readStreamFacts(jsm, name);
      const atSnapshot = factsFrom(name, response.state, consumers);
      const moved = firstChange(beforeFacts, atSnapshot) ?? firstChange(beforeFacts, afterFacts);
      if (moved && attempt < attempts) {
        context.log.info(`nats: stream ${name} changed during its snapshot (${moved}); taking it again`);
        await new Promise((resolve) => setTimeout(resolve, 300 * attempt));
        continue;
      }
      let facts = beforeFacts;
      if (moved) {
        context.log.warn(
          `nats: stream ${name} changed during each of ${attempts} snapshots (${moved}); measuring the last one on a throwaway local server`,
        );
        facts = await measureSnapshot(spool, response, context);
      }
      const artifact = snapshotArtifact(name);
      await sink.write(artifact, createReadStream(spool), { handOver: true }); // fresh buffers, ours alone
      context.log.debug(
        `nats: captured stream ${name} (${facts.counts.messages} messages, ${bytes} snapshot bytes)`,
      );
      return {
        name,
        artifact,
        config: response.config,
        state: response.state,
        consumers: consumers.map((consumer) => ({ name: consumer.name, config: consumer.config })),
        facts,
        measured: moved ? "restored copy" : "quiet",
        takenAt,
      };
    } finally {
      await rm(spool, { force: true });
    }
  }
}
