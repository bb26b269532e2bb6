// An in-process backend for unit tests. It honours the same contracts as the
// filesystem backend (and runs the same conformance suite), so tests that use
// it exercise real repository code paths.

import { LifeboatError } from "../errors.ts";
import type { Backend, ByteRange, ObjectInfo, PutOptions } from "./backend.ts";
import { sliceRange, validateRange } from "./byte-range.ts";

export class MemoryBackend implements Backend {
  readonly location = "memory://";
  readonly capabilities = { atomicPut: true, conditionalPut: true, listAfterWriteConsistent: true } as const;
  /** Exposed so fault tests can damage stored objects directly. */
  readonly objects = new Map<string, Uint8Array>();

  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    if (options.ifAbsent && this.objects.has(key)) {
      throw new LifeboatError("STORAGE_ERROR", `object ${key} already exists`, {
        details: { key, reason: "exists" },
      });
    }
    this.objects.set(key, Uint8Array.from(data));
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    if (range !== undefined) validateRange(key, range);
    const data = this.objects.get(key);
    if (!data) throw new LifeboatError("OBJECT_MISSING", `object ${key} is missing`, { details: { key } });
    return range === undefined ? Uint8Array.from(data) : sliceRange(data, range);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const data = this.objects.get(key);
    return data ? { key, size: data.length } : undefined;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const [key, data] of [...this.objects]) {
      if (key.startsWith(prefix)) yield { key, size: data.length };
    }
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  async cleanupInterrupted(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {}
}
