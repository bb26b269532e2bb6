// A backend whose module is loaded on first use. The S3 backend pulls in the
// AWS SDK (hundreds of modules): a command on a file:// repository must not
// pay for that, so the registry hands out this stand-in and imports the real
// backend only when an s3:// repository is first touched.

import type {
  Backend,
  BackendCapabilities,
  ByteRange,
  CleanupOptions,
  ObjectInfo,
  PutOptions,
} from "./backend.ts";
import { listKeys } from "./backend.ts";

export class LazyBackend implements Backend {
  readonly location: string;
  readonly #load: () => Promise<Backend>;
  #loading: Promise<Backend> | undefined;
  #loaded: Backend | undefined;

  constructor(location: string, load: () => Promise<Backend>) {
    this.location = location;
    this.#load = load;
  }

  /** The real backend's once loaded; until then only what every backend promises (nothing is read before a put). */
  get capabilities(): BackendCapabilities {
    return (
      this.#loaded?.capabilities ?? {
        atomicPut: true,
        conditionalPut: false,
        listAfterWriteConsistent: false,
      }
    );
  }

  async put(key: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    return (await this.#inner()).put(key, data, options);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return (await this.#inner()).get(key, range);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    return (await this.#inner()).stat(key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    yield* (await this.#inner()).list(prefix);
  }

  async *listKeys(prefix: string): AsyncIterable<string> {
    yield* listKeys(await this.#inner(), prefix);
  }

  async delete(key: string): Promise<void> {
    return (await this.#inner()).delete(key);
  }

  async cleanupInterrupted(olderThanMs: number, options?: CleanupOptions): Promise<number> {
    return (await this.#inner()).cleanupInterrupted(olderThanMs, options);
  }

  async close(): Promise<void> {
    // Never loaded: nothing to release (and no reason to load the SDK now).
    if (this.#loading) await (await this.#loading).close();
  }

  #inner(): Promise<Backend> {
    this.#loading ??= this.#load().then((backend) => (this.#loaded = backend));
    return this.#loading;
  }
}
