// Restore a NATS snapshot into a server: each stream through the server's
// own restore ($JS.API.STREAM.RESTORE), which brings back its messages with
// their sequences, timestamps and deletion gaps, and its durable consumers
// with their delivered and ack state.
//
// There is no swap: JetStream cannot rename a stream, so streams are
// restored under their own names, into a server that does not have them. A
// stream of the same name on the target is refused (TARGET_NOT_EMPTY), or
// deleted first with --clean. Each stream appears only whole (the server
// creates it when the last chunk has arrived); when one fails (a damaged
// artifact, the target refusing), the streams this restore created are
// deleted again, so the target has none of the snapshot's streams.

import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { LifeboatError } from "../../errors.ts";
import type { EngineContext, RestoreInput, RestoreOptions } from "../engine.ts";
import { openManager, targetEndpoint, withConnection } from "./connection.ts";
import { listStreamNames } from "./facts.ts";
import { sendSnapshot } from "./snapshot-send.ts";
import { readManifest } from "./stream-manifest.ts";

export async function restoreNats(
  input: RestoreInput,
  target: string,
  options: RestoreOptions,
  context: EngineContext,
): Promise<void> {
  const endpoint = targetEndpoint(target);
  const manifest = await readManifest(input.artifacts);
  await withConnection(endpoint, "TARGET_UNREACHABLE", async (connection) => {
    const jsm = await openManager(connection, "target");
    const existing = new Set(await listStreamNames(jsm));
    const clashing = manifest.streams.map((stream) => stream.name).filter((name) => existing.has(name));
    if (clashing.length > 0 && !options.clean) {
      throw new LifeboatError(
        "TARGET_NOT_EMPTY",
        `the NATS target ${endpoint.address} already has ${clashing.length === 1 ? "stream" : "streams"} ${clashing.join(", ")}`,
        {
          details: { target: endpoint.address, streams: clashing },
          hint: "Restore into a server without these streams, or pass --clean to delete them first.",
        },
      );
    }
    for (const name of clashing) {
      context.signal?.throwIfAborted();
      await jsm.streams.delete(name);
      context.log.info(`nats: --clean deleted stream ${name} on ${endpoint.address}`);
    }
    context.onPhase?.("restore");
    const created: string[] = [];
    try {
      for (const stream of manifest.streams) {
        context.signal?.throwIfAborted();
        await sendSnapshot(
          connection,
          stream.config,
          stream.state,
          input.artifacts.open(stream.artifact),
          context.signal,
        );
        created.push(stream.name);
        context.log.debug(`nats: restored stream ${stream.name} on ${endpoint.address}`);
      }
    } catch (error) {
      await removeCreated(connection, jsm, created, endpoint.address, context);
      throw error;
    }
  });
}

/** Undo a failed restore: delete the streams it created, and say so (and what could not be removed). */
async function removeCreated(
  connection: NatsConnection,
  jsm: JetStreamManager,
  created: readonly string[],
  address: string,
  context: EngineContext,
): Promise<void> {
  if (connection.isClosed()) {
    if (created.length > 0) {
      context.log.warn(
        `nats: the restore failed; streams ${created.join(", ")} remain on ${address} (connection lost)`,
      );
    }
    return;
  }
  for (const name of created) {
    try {
      await jsm.streams.delete(name);
      context.log.info(`nats: the restore failed; deleted stream ${name} it had restored on ${address}`);
    } catch (error) {
      context.log.warn(
        `nats: the restore failed and stream ${name} on ${address} could not be deleted: ${(error as Error).message}`,
      );
    }
  }
}
