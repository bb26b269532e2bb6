// Writes and file finishing (chmod, utimes, fsync, close) started without
// waiting for each one, up to a bound, so that the extraction reads, checks
// and parses the next entry while the disk works, and several files are
// written and synced at once on libuv's thread pool. An archive's data
// buffers are fresh for every chunk (never reused by the reader), so holding
// them until their write completes is safe; the bound caps that memory and
// the open descriptors.

/** Bytes of data written but not yet on disk (page cache), at most. */
export const WRITE_BEHIND_BYTES = 32 * 1024 * 1024;
/** Operations in flight at most (each finishing file holds one descriptor). */
export const WRITE_BEHIND_TASKS = 64;

export class WriteBehind {
  readonly #pending = new Set<Promise<void>>();
  #bytes = 0;
  #failure: { error: unknown } | undefined;

  readonly maxBytes: number;
  readonly maxTasks: number;

  constructor(maxBytes = WRITE_BEHIND_BYTES, maxTasks = WRITE_BEHIND_TASKS) {
    this.maxBytes = maxBytes;
    this.maxTasks = maxTasks;
  }

  /**
   * Track `task` (which holds `bytes` of buffers until it settles); waits only
   * while more than the bound is in flight. Throws the first failure of any
   * task, here or at the next call.
   */
  async add(task: Promise<unknown>, bytes = 0): Promise<void> {
    // Tracked before anything can throw: settle() must wait for every task it was given.
    const tracked: Promise<void> = task
      .then(
        () => {},
        (error: unknown) => {
          this.#failure ??= { error };
        },
      )
      .finally(() => {
        this.#pending.delete(tracked);
        this.#bytes -= bytes;
      });
    this.#pending.add(tracked);
    this.#bytes += bytes;
    this.#throwIfFailed();
    while (this.#pending.size > 0 && (this.#bytes > this.maxBytes || this.#pending.size > this.maxTasks)) {
      await Promise.race(this.#pending);
      this.#throwIfFailed();
    }
  }

  /** Everything tracked has completed; throws the first failure. */
  async drain(): Promise<void> {
    await this.settle();
    this.#throwIfFailed();
  }

  /** Wait for everything tracked, whatever the outcome (before giving up on an extraction). */
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
