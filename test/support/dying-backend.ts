// A backend that "dies" after a set number of writes, for crash-point tests
// (ARCHITECTURE.md, "killed at any point"): every put or delete after the
// limit fails, as if the process had been killed there, while reads go on
// working so the test can inspect what was left.

import { LifeboatError } from "../../src/errors.ts";
import type { Backend, ByteRange, PutOptions } from "../../src/storage/backend.ts";
import { MemoryBackend } from "../../src/storage/memory.ts";

/** Storage that "dies" after `limit` writes: every later call fails, as for a killed process. */
export class DyingBackend implements Backend {
  readonly location = "memory://dying";
  readonly capabilities;
  readonly #inner: MemoryBackend;
  #writesLeft: number;
  writes = 0;

  constructor(inner: MemoryBackend, limit: number) {
    this.#inner = inner;
    this.capabilities = inner.capabilities;
    this.#writesLeft = limit;
  }

  #write(): void {
    if (this.#writesLeft-- <= 0) throw new LifeboatError("STORAGE_ERROR", "killed");
    this.writes++;
  }

  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    this.#write();
    return this.#inner.put(key, data, options);
  }

  async delete(key: string): Promise<void> {
    this.#write();
    return this.#inner.delete(key);
  }

  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.#inner.get(key, range);
  }

  stat(key: string) {
    return this.#inner.stat(key);
  }

  list(prefix: string) {
    return this.#inner.list(prefix);
  }

  cleanupInterrupted(): Promise<number> {
    return Promise.resolve(0);
  }

  async close(): Promise<void> {}
}

/** An independent copy of a memory backend's objects: one starting state per crash point. */
export function clone(backend: MemoryBackend): MemoryBackend {
  const copy = new MemoryBackend();
  for (const [key, bytes] of backend.objects) copy.objects.set(key, Uint8Array.from(bytes));
  return copy;
}
