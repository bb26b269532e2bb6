// Receive one stream's snapshot from the server into a local spool file.
//
// Protocol ($JS.API.STREAM.SNAPSHOT.<stream>, nats-server jetstream_api.go):
// we subscribe to a fresh inbox and ask for a snapshot delivered there, with
// consumers. The answer holds the stream's config and state; then the server
// sends the snapshot (an S2-compressed tar) as chunks to the inbox, each with
// a reply subject we answer (empty) as flow control once the chunk is on
// disk, and ends with an empty message (2.10+ add a status header: anything
// but 204 is a failure). Unsubscribing tells the server to stop.
//
// The spool keeps memory bounded whatever the stream's size; the capture
// decides afterwards whether the copy is one to keep (capture.ts).

import { open } from "node:fs/promises";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { natsTransport } from "./client-library.ts";
import { LifeboatError } from "../../errors.ts";
import { jsonRequest, type SnapshotResponse } from "./jetstream-api.ts";
import { S2FrameCheck } from "./s2-frames.ts";

/** A snapshot stalls when no chunk arrives for this long (the server died or forgot us). */
const idleLimitMs = 30_000;

export interface ReceivedSnapshot {
  readonly response: SnapshotResponse;
  readonly bytes: number;
}

export async function receiveSnapshot(
  connection: NatsConnection,
  stream: string,
  spoolPath: string,
  signal: AbortSignal | undefined,
): Promise<ReceivedSnapshot> {
  signal?.throwIfAborted();
  const inbox = (await natsTransport()).createInbox();
  const subscription = connection.subscribe(inbox);
  const file = await open(spoolPath, "wx", 0o600);
  const frames = new S2FrameCheck(`stream ${stream}`);
  let stalled = false;
  let idle: NodeJS.Timeout | undefined;
  const stop = () => subscription.unsubscribe();
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      stalled = true;
      stop();
    }, idleLimitMs);
  };
  signal?.addEventListener("abort", stop, { once: true });
  try {
    const response = await requestSnapshot(connection, stream, inbox, signal);
    armIdle();
    let bytes = 0;
    let finished = false;
    for await (const message of subscription) {
      armIdle();
      if (message.data.length === 0) {
        throwOnFailureStatus(message, stream);
        finished = true;
        break;
      }
      frames.feed(message.data);
      await file.write(message.data);
      bytes += message.data.length;
      // Acknowledge only once the chunk is on disk: the server paces itself by these.
      if (message.reply) message.respond();
    }
    signal?.throwIfAborted();
    if (!finished) {
      throw new LifeboatError(
        stalled ? "SOURCE_TOOL_FAILED" : "SOURCE_UNREACHABLE",
        stalled
          ? `the snapshot of stream ${stream} stalled: nothing arrived for ${idleLimitMs / 1000}s`
          : `the connection closed during the snapshot of stream ${stream}`,
      );
    }
    frames.end();
    await file.sync();
    return { response, bytes };
  } finally {
    clearTimeout(idle);
    signal?.removeEventListener("abort", stop);
    stop();
    await file.close();
  }
}

/** JetStream's err_code for "snapshot in progress": the server makes one snapshot of a stream at a time. */
const snapshotInProgress = 10064;
const busyRetryMs = 250;
const busyLimitMs = 15_000;

/**
 * Ask for the snapshot. While another one of the same stream is still running (another backup, or
 * one we just abandoned, which the server ends once it notices nobody listens) ask again for a while.
 */
async function requestSnapshot(
  connection: NatsConnection,
  stream: string,
  inbox: string,
  signal: AbortSignal | undefined,
): Promise<SnapshotResponse> {
  const deadline = Date.now() + busyLimitMs;
  for (;;) {
    try {
      return await jsonRequest<SnapshotResponse>(
        connection,
        `$JS.API.STREAM.SNAPSHOT.${stream}`,
        { deliver_subject: inbox, no_consumers: false },
        { code: "SOURCE_TOOL_FAILED", what: `snapshot of stream ${stream} refused` },
      );
    } catch (error) {
      const busy =
        error instanceof LifeboatError &&
        (error.details as { jetstreamErrCode?: number } | undefined)?.jetstreamErrCode === snapshotInProgress;
      if (!busy) throw error;
      if (Date.now() > deadline) {
        throw new LifeboatError(
          "SOURCE_LOCKED",
          `another snapshot of stream ${stream} has been running for ${busyLimitMs / 1000}s`,
          {
            hint: "Another backup (nats stream backup, another Lifeboat) is snapshotting this stream: try again when it is done.",
            cause: error,
          },
        );
      }
      signal?.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, busyRetryMs));
    }
  }
}

/** nats-server 2.10+ put a status on the last message: 204 is success, 408 and others a failure. */
function throwOnFailureStatus(message: Msg, stream: string): void {
  const headers = message.headers;
  if (!headers) return;
  const code = headers.code;
  if (code === 0 || code === 204) return;
  throw new LifeboatError(
    "SOURCE_TOOL_FAILED",
    `the server ended the snapshot of stream ${stream} with status ${code} ${headers.description}`.trim(),
  );
}
