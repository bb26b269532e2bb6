// Store a directory-format dump while pg_dump is still writing it. Every
// ~150 ms the spool is polled (spool-watch.ts): data files pg_dump has
// finished are queued, and when nothing finished is waiting, a file pg_dump
// is still writing is followed like `tail -f` (read up to its current end,
// wait, read on) until pg_dump has closed it and every byte is read. Files
// go into the sink one after another (the sink parallelises its own chunk
// uploads) and leave the spool once stored. What is left when pg_dump exits
// (toc.dat, large-object TOCs, the rest) is stored then. Artifacts stored
// before a failure are harmless: the snapshot is committed by the caller only
// after capture returns, so they stay unreferenced chunks.

import { statSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { open, readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LifeboatError } from "../../errors.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { ArtifactSink } from "../engine.ts";
import { canWatchSpool, SpoolWatcher } from "./spool-watch.ts";

const pollMs = 150;
/**
 * Files stored at once. Two let a large table be followed while another file
 * (a second large table, finished small ones) goes in meanwhile; the sink
 * takes concurrent writes and parallelises its own chunk uploads.
 */
const lanes = 2;
/** How long a follower waits at the current end of a file pg_dump is still writing. */
const followMs = 50;
const readChunk = 1024 * 1024;

export interface DumpUploadOptions {
  readonly sink: ArtifactSink;
  /** Artifact name prefix (`dump/`). */
  readonly prefix: string;
  /** The directory as given to pg_dump's --file. */
  readonly dumpDir: string;
  /** Its canonical path (symlinks resolved), as /proc shows open files. */
  readonly canonicalDumpDir: string;
  readonly log: Logger;
  /** Called once when storing a file fails, so the caller can stop pg_dump early. */
  readonly onFailure: (error: unknown) => void;
}

interface QueuedFile {
  readonly name: string;
  /** pg_dump may still be writing it: follow it to its end. */
  readonly follow: boolean;
}

export class DumpUpload {
  readonly #options: DumpUploadOptions;
  readonly #watcher: SpoolWatcher | undefined;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #queue: QueuedFile[] = [];
  /** Every file ever queued (stored, in flight or waiting), so none is stored twice. */
  readonly #handed = new Set<string>();
  readonly #lanes = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;
  #abandoned = false;
  /** pg_dump exited 0: every file is complete. */
  #dumpDone = false;
  #early = 0;

  constructor(options: DumpUploadOptions) {
    this.#options = options;
    if (canWatchSpool()) {
      this.#watcher = new SpoolWatcher(options.dumpDir, options.canonicalDumpDir);
      this.#timer = setInterval(() => this.#poll(), pollMs);
    } else {
      options.log.debug("no /proc: the dump is stored after pg_dump exits");
    }
  }

  /** pg_dump exited 0: store everything still in the spool, then settle. Throws the first store failure. */
  async finish(): Promise<void> {
    this.#stopPolling();
    this.#dumpDone = true;
    this.#throwIfFailed();
    const entries = await readdir(this.#options.dumpDir, { withFileTypes: true });
    const unexpected = entries.filter((entry) => !entry.isFile());
    if (unexpected.length > 0) {
      throw new LifeboatError(
        "INTERNAL",
        `pg_dump produced unexpected entries: ${unexpected.map((e) => e.name).join(", ")}`,
      );
    }
    const rest = entries.map((entry) => entry.name).filter((name) => !this.#handed.has(name));
    // toc.dat first, then by name: with no /proc this is the order of a capture that never overlapped.
    rest.sort((left, right) =>
      left === "toc.dat" ? -1 : right === "toc.dat" ? 1 : left < right ? -1 : left > right ? 1 : 0,
    );
    this.#enqueue(rest.map((name) => ({ name, follow: false })));
    await this.#settle();
    this.#throwIfFailed();
    this.#options.log.debug(`${this.#early} dump files were stored while pg_dump was running`);
  }

  /** pg_dump failed or the capture is interrupted: stop storing and wait for the file in flight. */
  async abandon(): Promise<void> {
    this.#stopPolling();
    this.#abandoned = true;
    this.#queue.length = 0;
    await this.#settle();
  }

  async #settle(): Promise<void> {
    while (this.#lanes.size > 0) await Promise.all(this.#lanes);
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }

  #stopPolling(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  #poll(): void {
    if (!this.#watcher || this.#failure || this.#abandoned) return;
    let found: { finished: string[]; writing: string[] } | undefined;
    try {
      found = this.#watcher.poll();
    } catch (error) {
      // /proc read failures only mean "cannot tell now": the files are stored at pg_dump's exit.
      this.#options.log.debug(`polling pg_dump's spool: ${(error as Error).message}`);
      return;
    }
    if (!found) return;
    const files = found.finished.sort().map((name) => ({ name, follow: false }));
    // Lanes with nothing to store follow the files pg_dump is writing, largest first.
    const idle = lanes - this.#lanes.size - this.#queue.length - files.length;
    for (const name of this.#largestFirst(found.writing).slice(0, Math.max(0, idle))) {
      files.push({ name, follow: true });
    }
    if (files.length === 0) return;
    for (const file of files) this.#watcher.taken(file.name);
    this.#early += files.length;
    this.#enqueue(files);
  }

  /** pg_dump writes the largest tables first: the largest files so far are the ones most worth following. */
  #largestFirst(names: readonly string[]): string[] {
    const sizes = new Map(
      names.map((name) => [
        name,
        statSync(join(this.#options.dumpDir, name), { throwIfNoEntry: false })?.size ?? 0,
      ]),
    );
    return [...names].sort((left, right) => sizes.get(right)! - sizes.get(left)!);
  }

  #enqueue(files: readonly QueuedFile[]): void {
    for (const file of files) this.#handed.add(file.name);
    this.#queue.push(...files);
    while (this.#lanes.size < lanes && this.#queue.length > 0) {
      // #drain takes its first file before its first await, so the loop sees the queue shrink.
      const lane: Promise<void> = this.#drain().finally(() => this.#lanes.delete(lane));
      this.#lanes.add(lane);
    }
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#failure && !this.#abandoned) {
      const file = this.#queue.shift()!;
      try {
        await this.#store(file);
      } catch (error) {
        if (this.#abandoned) return; // the capture fails for its own reason
        this.#failure = { error };
        this.#queue.length = 0;
        this.#stopPolling();
        this.#options.onFailure(error);
      }
    }
  }

  async #store(file: QueuedFile): Promise<void> {
    const path = join(this.#options.dumpDir, file.name);
    const handle = await open(path, "r");
    try {
      const ref = await this.#options.sink.write(
        this.#options.prefix + file.name,
        file.follow
          ? this.#follow(handle, file.name)
          : handle.createReadStream({ highWaterMark: readChunk, autoClose: false }),
        { handOver: true }, // a fresh buffer per read, read by nothing else
      );
      // A file that grew after it was read was not finished: never keep a truncated copy.
      const { size } = await handle.stat();
      if (size !== ref.size) {
        throw new LifeboatError(
          "INTERNAL",
          `dump file ${file.name} changed while it was stored (${ref.size} bytes read, ${size} now)`,
        );
      }
    } finally {
      await handle.close();
    }
    // Stored: the spool need not hold it any longer (a dump needs less free space this way).
    await unlink(path);
    this.#options.log.debug(`stored ${file.name}${file.follow ? ", followed while pg_dump wrote it" : ""}`);
  }

  /** Read a file pg_dump is writing up to its end, and on until pg_dump has closed it. */
  async *#follow(handle: FileHandle, name: string): AsyncGenerator<Uint8Array> {
    let position = 0;
    let closed = false;
    for (;;) {
      const buffer = Buffer.allocUnsafe(readChunk);
      const { bytesRead } = await handle.read(buffer, 0, readChunk, position);
      if (bytesRead > 0) {
        position += bytesRead;
        yield buffer.subarray(0, bytesRead);
        continue;
      }
      // At the end after pg_dump had closed the file: every byte it wrote is read.
      if (closed) return;
      if (this.#abandoned) throw new LifeboatError("INTERNAL", `storing ${name} stopped: the capture failed`);
      // Checked before the next read: a close seen now means that read reaches the true end.
      closed = this.#dumpDone || !this.#watcher!.isWriting(name);
      if (!closed) await sleep(followMs);
    }
  }
}
