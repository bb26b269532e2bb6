// A small pool of worker threads doing the per-chunk CPU work (HMAC ids,
// zstd, AES-GCM) so the main thread only chunks, hashes whole streams and
// moves bytes. One pool per process, shared by every open repository and
// started on first use: open repositories hold a reference and the last
// close() terminates the workers. Workers are unref'd whenever they have no
// reply pending, so a repository that is never closed does not keep the
// process alive, and one with work in flight does.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { LifeboatError } from "../errors.ts";
import { forTransfer } from "./buffers.ts";
import type { WorkerReply, WorkerRequest } from "./codec-protocol.ts";
import type { MasterKey } from "./crypto.ts";
import type { Protection } from "./envelope.ts";

/** A chunk hashed inside a worker, kept there until the caller seals or drops it. */
export interface HeldChunk {
  readonly id: string;
  /** Compress and seal it as the object stored under `key`: the envelope's bytes. */
  seal(key: string): Promise<Uint8Array>;
  /** Forget it (already stored). */
  drop(): void;
}

interface Pending {
  resolve(reply: WorkerReply): void;
  reject(error: unknown): void;
}

class PoolWorker {
  readonly worker: Worker;
  readonly contexts = new Set<number>();
  readonly pending = new Map<number, Pending>();
  /** Replies pending plus chunks held for a decision: what dispatch balances. */
  load = 0;
  alive = true;

  constructor(onDeath: (worker: PoolWorker, error: unknown) => void) {
    // The worker beside this file, with this file's extension: .ts from the sources, .js from dist/.
    this.worker = new Worker(new URL(`./codec-worker${import.meta.url.slice(-3)}`, import.meta.url), {
      name: "lifeboat-codec",
      // A worker inherits the process's Node flags, but it runs a file: the
      // `--input-type` of `node -e` would fail it, so such a process passes none.
      execArgv: process.execArgv.some((flag) => flag.startsWith("--input-type")) ? [] : undefined,
    });
    this.worker.on("message", (reply: WorkerReply) => this.#settle(reply));
    this.worker.on("error", (error) => onDeath(this, error));
    this.worker.on("messageerror", (error) => onDeath(this, error));
    this.worker.on("exit", (code) => onDeath(this, new Error(`codec worker exited with code ${code}`)));
    // After the listeners: attaching a "message" listener refs the worker again.
    this.worker.unref();
  }

  post(request: WorkerRequest, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(request, transfer);
  }

  request(request: WorkerRequest & { task: number }, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (!this.alive) return Promise.reject(workerGone());
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(request.task, { resolve, reject });
      this.post(request, transfer);
    });
  }

  failAll(error: unknown): void {
    this.alive = false;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }

  #settle(reply: WorkerReply): void {
    const pending = this.pending.get(reply.task);
    if (!pending) return;
    this.pending.delete(reply.task);
    if (this.pending.size === 0) this.worker.unref();
    if ("error" in reply) {
      const { code, message, details } = reply.error;
      pending.reject(new LifeboatError(code, message, { details }));
    } else {
      pending.resolve(reply);
    }
  }
}

function workerGone(cause?: unknown): LifeboatError {
  return new LifeboatError("INTERNAL", "a codec worker thread stopped unexpectedly", { cause });
}

let nextTask = 1;
let nextContext = 1;

export class CodecPool {
  readonly size: number;
  readonly #workers: PoolWorker[] = [];
  #closed = false;

  /**
   * One worker per core but one: the main thread is busy too (chunking, the
   * whole-stream SHA-256, storage I/O). On 2 cores one worker was as fast as
   * two for both writes and reads, with ~80 MB less memory (each worker is an
   * isolate of its own, and each thread keeps its own malloc arena).
   */
  constructor(size = Math.max(1, Math.min(8, availableParallelism() - 1))) {
    this.size = size;
  }

  /** Keys and settings of one repository, registered with each worker on its first task. */
  context(master: MasterKey, protection: Protection, chunkMax: number): CodecContext {
    return new CodecContext(this, nextContext++, master, protection, chunkMax);
  }

  /** Start every worker now (they take ~150 ms to load), so the first chunks do not wait for them. */
  start(): void {
    while (!this.#closed && this.#workers.length < this.size) this.pick();
  }

  /** The least loaded worker, starting workers up to the pool size. */
  pick(): PoolWorker {
    if (this.#closed) throw new LifeboatError("INTERNAL", "codec pool used after the repository was closed");
    if (this.#workers.length < this.size) {
      const worker = new PoolWorker((dead, error) => this.#onDeath(dead, error));
      this.#workers.push(worker);
      return worker;
    }
    return this.#workers.reduce((best, worker) => (worker.load < best.load ? worker : best));
  }

  forget(context: number): void {
    for (const worker of this.#workers) {
      if (worker.contexts.delete(context)) worker.post({ op: "forget", context });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const workers = this.#workers.splice(0);
    for (const worker of workers) worker.failAll(new LifeboatError("INTERNAL", "codec pool closed"));
    await Promise.all(workers.map((worker) => worker.worker.terminate()));
  }

  #onDeath(dead: PoolWorker, error: unknown): void {
    if (!dead.alive) return;
    dead.failAll(workerGone(error));
    const index = this.#workers.indexOf(dead);
    if (index >= 0) this.#workers.splice(index, 1); // the next pick() starts a replacement
    void dead.worker.terminate();
  }
}

export class CodecContext {
  readonly #pool: CodecPool;
  readonly #id: number;
  readonly #master: MasterKey;
  readonly #protection: Protection;
  readonly #chunkMax: number;

  constructor(pool: CodecPool, id: number, master: MasterKey, protection: Protection, chunkMax: number) {
    this.#pool = pool;
    this.#id = id;
    this.#master = master;
    this.#protection = protection;
    this.#chunkMax = chunkMax;
  }

  /**
   * Hash `plaintext` into its chunk id, in a worker that keeps it. The chunk
   * is taken over: the caller must own it outright and not touch it again
   * (it is transferred to the worker when large).
   */
  async hash(plaintext: Uint8Array): Promise<HeldChunk> {
    const worker = this.#worker();
    const { bytes: chunk, transfer } = forTransfer(plaintext);
    const task = nextTask++;
    worker.load++;
    let reply: WorkerReply;
    try {
      reply = await worker.request({ op: "hash", task, context: this.#id, chunk }, transfer);
    } catch (error) {
      worker.load--;
      throw error;
    }
    const id = (reply as { id: string }).id;
    let decided = false;
    const decide = () => {
      if (decided) throw new LifeboatError("INTERNAL", `chunk ${id} sealed or dropped twice`);
      decided = true;
      worker.load--;
    };
    return {
      id,
      seal: async (key) => {
        decide();
        const sealed = await worker.request({ op: "seal", task, context: this.#id, key });
        return (sealed as { bytes: Uint8Array }).bytes;
      },
      drop: () => {
        decide();
        if (worker.alive) worker.post({ op: "drop", task });
      },
    };
  }

  /**
   * Authenticate, decompress and re-hash the object stored under `key`
   * against `id`. `stored` is taken over (it may be transferred to the worker).
   */
  async open(key: string, id: string, stored: Uint8Array): Promise<Buffer> {
    const worker = this.#worker();
    const { bytes, transfer } = forTransfer(stored);
    worker.load++;
    try {
      const task = nextTask++;
      const reply = await worker.request(
        { op: "open", task, context: this.#id, key, id, stored: bytes },
        transfer,
      );
      const plaintext = (reply as { bytes: Uint8Array }).bytes;
      return Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
    } finally {
      worker.load--;
    }
  }

  /** Start the pool's workers ahead of the first chunk. */
  warmUp(): void {
    this.#pool.start();
  }

  forget(): void {
    this.#pool.forget(this.#id);
  }

  #worker(): PoolWorker {
    const worker = this.#pool.pick();
    if (!worker.contexts.has(this.#id)) {
      worker.contexts.add(this.#id);
      const encryption = new Uint8Array(this.#master.encryption);
      const mac = new Uint8Array(this.#master.mac);
      worker.post({
        op: "context",
        context: this.#id,
        encryption,
        mac,
        protection: this.#protection,
        chunkMax: this.#chunkMax,
      });
    }
    return worker;
  }
}

let shared: CodecPool | undefined;
let users = 0;

/** The process's pool, started on first use; call the returned release() exactly once. */
export function acquireCodecPool(): { pool: CodecPool; release: () => Promise<void> } {
  shared ??= new CodecPool();
  users++;
  const pool = shared;
  let released = false;
  return {
    pool,
    release: async () => {
      if (released) return;
      released = true;
      if (--users === 0 && shared === pool) {
        shared = undefined;
        await pool.close();
      }
    },
  };
}
