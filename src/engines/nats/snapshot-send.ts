// Send one stream's snapshot to a server ($JS.API.STREAM.RESTORE.<stream>).
//
// Protocol (nats-server jetstream_api.go, processStreamRestore): the request
// carries the stream's config and state and is refused when a stream of that
// name exists; the answer names a subject for the chunks. Each chunk is a
// request answered with an empty message (or an -ERR text); an empty chunk
// ends the transfer, and only then does the server build the stream from
// what it staged, answering with the new stream's info or an error. Until
// that last message nothing exists under the stream's name: a transfer we
// abandon (a damaged artifact) is discarded by the server after 5 s without
// chunks, so an interrupted restore never leaves a partial stream.

import type { Readable } from "node:stream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { StreamConfig, StreamState } from "@nats-io/jetstream";
import { LifeboatError } from "../../errors.ts";
import { jsonRequest, parseApiAnswer, type RestoredStream, type RestoreResponse } from "./jetstream-api.ts";

/** Chunk size sent to the server (well below the default max_payload of 1 MiB). */
const chunkBytes = 128 * 1024;
const chunkTimeoutMs = 30_000;
/** Building a large stream from its snapshot takes a while: the server answers the last chunk when done. */
const finishTimeoutMs = 30 * 60_000;

/** Re-cut a byte stream into chunks of exactly `size` bytes (the last one shorter), copying little. */
async function* rechunk(data: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let carry: Buffer = Buffer.alloc(0);
  for await (const part of data) {
    let piece = Buffer.from(part.buffer, part.byteOffset, part.byteLength);
    if (carry.length > 0) {
      const fill = Math.min(size - carry.length, piece.length);
      carry = Buffer.concat([carry, piece.subarray(0, fill)]);
      piece = piece.subarray(fill);
      if (carry.length < size) continue;
      yield carry;
      carry = Buffer.alloc(0);
    }
    let offset = 0;
    for (; offset + size <= piece.length; offset += size) yield piece.subarray(offset, offset + size);
    carry = Buffer.from(piece.subarray(offset));
  }
  if (carry.length > 0) yield carry;
}

export async function sendSnapshot(
  connection: NatsConnection,
  config: StreamConfig,
  state: StreamState,
  data: Readable,
  signal: AbortSignal | undefined,
): Promise<RestoredStream> {
  const stream = config.name;
  const what = `restore of stream ${stream}`;
  const { deliver_subject: deliver } = await jsonRequest<RestoreResponse>(
    connection,
    `$JS.API.STREAM.RESTORE.${stream}`,
    { config, state },
    { code: "TARGET_UNREACHABLE", what: `${what} refused` },
  );
  try {
    for await (const chunk of rechunk(data, chunkBytes)) {
      signal?.throwIfAborted();
      let answer: Uint8Array;
      try {
        answer = (await connection.request(deliver, chunk, { timeout: chunkTimeoutMs })).data;
      } catch (error) {
        throw new LifeboatError(
          "TARGET_UNREACHABLE",
          `${what}: sending a chunk failed: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      if (answer.length > 0) {
        throw new LifeboatError(
          "TARGET_UNREACHABLE",
          `${what}: the server answered ${new TextDecoder().decode(answer)}`,
        );
      }
    }
  } finally {
    // A damaged artifact (CHECKSUM_MISMATCH from the stream) ends up here too: we never send the
    // final empty chunk, so the server discards what it staged and creates nothing.
    data.destroy();
  }
  signal?.throwIfAborted();
  let text: string;
  try {
    const finished = await connection.request(deliver, new Uint8Array(0), { timeout: finishTimeoutMs });
    text = new TextDecoder().decode(finished.data);
  } catch (error) {
    throw new LifeboatError(
      "TARGET_UNREACHABLE",
      `${what}: no answer to the last chunk: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  // The server now builds the stream from what it staged: a failure here is the snapshot's content
  // (a damaged archive) unless the server says it is out of room or the name is taken.
  const created = parseApiAnswer<{ config?: StreamConfig; state?: StreamState }>(text, {
    code: "VERIFICATION_FAILED",
    what: `the server could not build stream ${stream} from its snapshot`,
  });
  if (!created.config || !created.state) {
    throw new LifeboatError("TARGET_UNREACHABLE", `${what}: the server's answer holds no stream info`);
  }
  return { config: created.config, state: created.state };
}
