// A codec worker: the per-chunk CPU work of the repository, off the main
// thread (codec-pool.ts runs a few of these). Writing: HMAC a chunk into its
// id, then, if the main thread says the chunk is new, compress and seal it.
// Reading: authenticate, decompress and re-hash a stored chunk. The bytes
// produced are exactly those of docs/repository-format.md; only the thread
// doing the work differs.

import { parentPort } from "node:worker_threads";
import { isLifeboatError } from "../errors.ts";
import { discard, forTransfer } from "./buffers.ts";
import type { WorkerReply, WorkerRequest } from "./codec-protocol.ts";
import { decodePayloadSync, encodePayloadSync } from "./compression.ts";
import { chunkIdOf } from "./crypto.ts";
import type { MasterKey } from "./crypto.ts";
import { objectError, seal, unseal } from "./envelope.ts";
import type { Protection } from "./envelope.ts";

interface Context {
  readonly master: MasterKey;
  readonly protection: Protection;
  readonly chunkMax: number;
}

const port = parentPort;
if (!port) throw new Error("codec-worker.ts runs only as a worker thread");

const contexts = new Map<number, Context>();
/** Chunks hashed and waiting for the main thread to say "seal" or "drop". */
const held = new Map<number, Buffer>();

function contextOf(id: number): Context {
  const context = contexts.get(id);
  if (!context) throw new Error(`codec worker: unknown context ${id}`);
  return context;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

/** Bytes this worker made and owns, handed over to the main thread. */
function replyBytes(task: number, made: Uint8Array): void {
  const { bytes, transfer } = forTransfer(made);
  reply({ task, bytes }, transfer);
  if (bytes !== made) discard(made);
}

function handle(request: WorkerRequest): void {
  switch (request.op) {
    case "context": {
      const master = { encryption: asBuffer(request.encryption), mac: asBuffer(request.mac) };
      contexts.set(request.context, { master, protection: request.protection, chunkMax: request.chunkMax });
      return;
    }
    case "forget":
      contexts.delete(request.context);
      return;
    case "hash": {
      const chunk = asBuffer(request.chunk);
      const id = chunkIdOf(contextOf(request.context).master, chunk);
      held.set(request.task, chunk);
      reply({ task: request.task, id });
      return;
    }
    case "drop":
      held.delete(request.task);
      return;
    case "seal": {
      const chunk = held.get(request.task);
      held.delete(request.task);
      if (!chunk) throw new Error(`codec worker: no held chunk for task ${request.task}`);
      const { master, protection } = contextOf(request.context);
      const payload = encodePayloadSync(chunk, { sample: true });
      const sealed = seal(request.key, payload, protection, master.encryption);
      // Both were copied into the envelope: free them now, not at the next GC.
      if (payload[1] !== chunk) discard(payload[1]);
      discard(chunk);
      replyBytes(request.task, sealed);
      return;
    }
    case "open": {
      const { master, protection, chunkMax } = contextOf(request.context);
      const { stored } = request;
      const payload = unseal(request.key, stored, protection, master.encryption);
      const plaintext = decodePayloadSync(request.key, payload, chunkMax);
      if (chunkIdOf(master, plaintext) !== request.id)
        throw objectError("CHECKSUM_MISMATCH", request.key, "content does not hash to the chunk's id");
      // The stored object and the decrypted payload are done with, unless the plaintext is a view of them.
      if (payload.buffer !== plaintext.buffer) discard(payload);
      if (stored.buffer !== plaintext.buffer) discard(stored);
      replyBytes(request.task, plaintext);
      return;
    }
  }
}

port.on("message", (request: WorkerRequest) => {
  try {
    handle(request);
  } catch (error) {
    if (!("task" in request)) throw error; // a broken protocol: let the pool see the worker fail
    held.delete(request.task);
    const failure = isLifeboatError(error)
      ? { code: error.code, message: error.message, details: { ...error.details } }
      : {
          code: "INTERNAL" as const,
          message: error instanceof Error ? error.message : String(error),
          details: {},
        };
    reply({ task: request.task, error: failure });
  }
});
