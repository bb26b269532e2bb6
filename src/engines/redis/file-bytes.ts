// Buffered, synchronous reads from a file for the RDB reader: walking an RDB
// is millions of tiny reads (a length byte, a short string), so they are
// served from a 1 MiB buffer and large values are skipped without reading.
// Reading past the end is a named error: a cut-off file never passes.

import { readSync } from "node:fs";
import { LifeboatError } from "../../errors.ts";

/** Buffered, synchronous reads from a file descriptor: parsing is many tiny reads. */
export class FileBytes {
  private buffer = Buffer.alloc(1 << 20);
  private start = 0;
  private end = 0;
  private filePosition = 0;
  private readonly fd: number;
  private readonly path: string;
  constructor(fd: number, path: string) {
    this.fd = fd;
    this.path = path;
  }

  private fill(needed: number): void {
    if (this.end - this.start >= needed) return;
    if (needed > this.buffer.length) {
      const bigger = Buffer.alloc(needed * 2);
      this.buffer.copy(bigger, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
      this.buffer = bigger;
    } else if (this.start > 0) {
      this.buffer.copy(this.buffer, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    while (this.end - this.start < needed) {
      const read = readSync(this.fd, this.buffer, this.end, this.buffer.length - this.end, this.filePosition);
      if (read === 0) throw rdbError(this.path, "ends in the middle of a value (truncated)");
      this.end += read;
      this.filePosition += read;
    }
  }

  take(count: number): Buffer {
    this.fill(count);
    const slice = this.buffer.subarray(this.start, this.start + count);
    this.start += count;
    return slice;
  }

  byte(): number {
    this.fill(1);
    return this.buffer[this.start++]!;
  }

  skip(count: number): void {
    const buffered = Math.min(count, this.end - this.start);
    this.start += buffered;
    const rest = count - buffered;
    if (rest > 0) {
      this.filePosition += rest;
      // Confirm the skipped-to position exists: a truncated file must not pass as complete.
      this.fill(1);
    }
  }
}

/** A damaged or unreadable RDB file, named. */
export function rdbError(path: string, what: string): LifeboatError {
  return new LifeboatError("VERIFICATION_FAILED", `the RDB file ${path} ${what}`, { details: { path } });
}
