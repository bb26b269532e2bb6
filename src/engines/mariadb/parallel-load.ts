// Loading a mariadb-dump stream in several sessions at once. One `mariadb`
// session replaying the whole dump is one core's worth of InnoDB inserts; the
// tables of a database are independent while they load (the dump's header
// turns foreign key and unique checks off per session), so the stream is cut
// into its sections as it arrives from the repository:
//   - the header (session settings), given to every session;
//   - one section per table (`-- Table structure for table`: DROP, CREATE,
//     rows, triggers) and per view placeholder (`-- Temporary table
//     structure for view`: a CREATE VIEW of constants, which needs nothing);
//   - the tail (events, routines, final views, the footer: they may name any
//     table), loaded last in one session once every table is in.
// Each table's plain and unique secondary keys are taken out of its CREATE
// TABLE and added by one ALTER TABLE at the end of its own section
// (deferred-keys.ts), so the session that loaded its rows sorts them once.
// Sections are staged to files in the restore's private temp dir (a session
// cannot start a table before the bytes of the one before it have passed),
// at most `stagedLimit` bytes ahead of the sessions; `jobs` sessions take
// them in dump order. The first failure stops every session.

import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { once } from "node:events";
import { alterFor, deferKeys, quotedName } from "./deferred-keys.ts";

export interface SessionLoad {
  readonly source: AsyncIterable<Buffer>;
  readonly tempDir: string;
  /** Sessions loading tables at once. */
  readonly jobs: number;
  /** Bytes staged but not yet loaded before the stream waits (a single larger table is staged whole). */
  readonly stagedLimit: number;
  /** One `mariadb` session fed `stdin`; resolves when it exited 0, rejects otherwise. */
  readonly runSession: (stdin: Readable, signal: AbortSignal) => Promise<void>;
  readonly signal?: AbortSignal | undefined;
}

export interface SessionLoadSummary {
  readonly sections: number;
  readonly tailBytes: number;
}

const NEWLINE = 0x0a;
const tableSection = "-- Table structure for table `";
const viewPlaceholder = "-- Temporary table structure for view `";
const tailSections = [
  "-- Dumping events for database",
  "-- Dumping routines for database",
  "-- Final view structure for view",
];

type LineKind = "section" | "tail" | "plain";

function kindOf(line: string): LineKind {
  if (line.startsWith(tableSection) || line.startsWith(viewPlaceholder)) return "section";
  if (tailSections.some((prefix) => line.startsWith(prefix))) return "tail";
  return "plain";
}

const createPrefix = Buffer.from("CREATE TABLE `");

function startsWith(buffer: Buffer, at: number, prefix: Buffer): boolean {
  return (
    buffer.length - at >= prefix.length &&
    buffer.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0
  );
}

interface StagedSection {
  readonly path: string;
  readonly bytes: number;
}

class Staging {
  #file: WriteStream | undefined;
  #path = "";
  #bytes = 0;
  #count = 0;
  readonly #dir: string;
  constructor(dir: string) {
    this.#dir = dir;
  }

  get open(): boolean {
    return this.#file !== undefined;
  }

  begin(): void {
    this.#path = join(this.#dir, `mariadb-section-${String(++this.#count).padStart(6, "0")}.sql`);
    this.#file = createWriteStream(this.#path, { mode: 0o600 });
    this.#bytes = 0;
  }

  async write(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return;
    this.#bytes += bytes.length;
    if (!this.#file!.write(bytes)) await once(this.#file!, "drain");
  }

  async end(): Promise<StagedSection> {
    const file = this.#file!;
    this.#file = undefined;
    file.end();
    await once(file, "close");
    return { path: this.#path, bytes: this.#bytes };
  }

  async abandon(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    if (file) {
      file.destroy();
      await rm(this.#path, { force: true });
    }
  }
}

/** `header` then the file, as one stream. */
function withHeader(header: Buffer, path: string): Readable {
  const stream = new PassThrough();
  stream.write(header);
  const file = createReadStream(path);
  file.on("error", (error) => stream.destroy(error));
  file.pipe(stream);
  return stream;
}

export async function loadInSessions(load: SessionLoad): Promise<SessionLoadSummary> {
  const stop = new AbortController();
  const signal = load.signal ? AbortSignal.any([load.signal, stop.signal]) : stop.signal;
  const jobs = Math.max(1, load.jobs);
  const header: Buffer[] = [];
  const staging = new Staging(load.tempDir);
  const queue: StagedSection[] = [];
  const leftovers = new Set<string>();
  let stagedBytes = 0;
  let producing = true;
  let failure: unknown;
  // Sessions and the stream wait for "something changed" (a section staged or loaded, a failure).
  const waiting = new Set<() => void>();
  const notify = () => {
    for (const resolve of waiting) resolve();
    waiting.clear();
  };
  const waitForChange = () => new Promise<void>((resolve) => waiting.add(resolve));
  let headerBuffer: Buffer | undefined;

  const fail = (error: unknown) => {
    failure ??= error;
    stop.abort(error);
    notify();
  };

  // Sessions: each takes the next staged section, in dump order.
  const sessions = Array.from({ length: jobs }, async () => {
    for (;;) {
      while (queue.length === 0 && producing && failure === undefined) await waitForChange();
      if (failure !== undefined) return;
      const section = queue.shift();
      if (!section) return;
      try {
        await load.runSession(withHeader(headerBuffer!, section.path), signal);
      } catch (error) {
        fail(error);
        return;
      } finally {
        await rm(section.path, { force: true });
        leftovers.delete(section.path);
        stagedBytes -= section.bytes;
        notify();
      }
    }
  });

  let create: string[] | undefined;
  let pendingKeys: { table: string; keys: string[] } | undefined;
  let inTail = false;
  let sections = 0;
  const tail: Buffer[] = [];
  let tailBytes = 0;

  /** Complete lines go where the dump is: the header, the current section's file, or the tail. */
  const emit = async (bytes: Buffer) => {
    if (bytes.length === 0) return;
    if (inTail) {
      tail.push(Buffer.from(bytes));
      tailBytes += bytes.length;
    } else if (staging.open) await staging.write(bytes);
    else header.push(Buffer.from(bytes));
  };
  const finishCreate = async () => {
    const lines = create!;
    create = undefined;
    const table = quotedName(lines[0]!, "CREATE TABLE ");
    const deferred = table ? deferKeys(lines) : { lines, keys: [] };
    if (table && deferred.keys.length > 0) pendingKeys = { table, keys: deferred.keys };
    await staging.write(Buffer.from(deferred.lines.join("\n") + "\n"));
  };
  const finishSection = async () => {
    if (!staging.open) return;
    if (pendingKeys) await staging.write(Buffer.from(alterFor(pendingKeys.table, pendingKeys.keys)));
    pendingKeys = undefined;
    const section = await staging.end();
    leftovers.add(section.path);
    stagedBytes += section.bytes;
    queue.push(section);
    sections++;
    notify();
  };
  const beginSection = async () => {
    await finishSection();
    headerBuffer ??= Buffer.concat(header);
    // Backpressure: the repository stream waits while the sessions are this far behind.
    while (stagedBytes > load.stagedLimit && failure === undefined) await waitForChange();
    if (failure === undefined) staging.begin();
  };

  try {
    let carry: Buffer = Buffer.alloc(0);
    for await (const chunk of load.source) {
      if (failure !== undefined) break;
      const data = carry.length > 0 ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
      let start = 0; // the first byte not yet emitted
      let line = 0;
      for (let end = data.indexOf(NEWLINE); end >= 0; end = data.indexOf(NEWLINE, line)) {
        if (create) {
          create.push(data.toString("utf8", line, end));
          start = end + 1;
          if (data[line] === 0x29 /* ) */) await finishCreate();
        } else if (!inTail && data[line] === 0x2d && data[line + 1] === 0x2d) {
          // Section and tail markers are comment lines of mariadb-dump's; no data line starts
          // with "--" (values never hold a raw newline).
          const kind = kindOf(data.toString("utf8", line, Math.min(end, line + 80)));
          if (kind !== "plain") {
            await emit(data.subarray(start, line));
            start = line;
            if (kind === "tail") {
              await finishSection();
              inTail = true;
            } else await beginSection();
            if (failure !== undefined) break;
          }
        } else if (!inTail && staging.open && startsWith(data, line, createPrefix)) {
          await emit(data.subarray(start, line));
          create = [data.toString("utf8", line, end)];
          start = end + 1;
        }
        line = end + 1;
      }
      if (failure !== undefined) break;
      await emit(data.subarray(start, line));
      carry = Buffer.from(data.subarray(line));
    }
    if (failure === undefined) {
      if (create) {
        if (carry.length > 0) create.push(carry.toString("utf8"));
        await finishCreate();
      } else await emit(carry);
      await finishSection();
    }
  } catch (error) {
    fail(error);
  } finally {
    producing = false;
    notify();
  }
  headerBuffer ??= Buffer.concat(header);
  await Promise.all(sessions);
  try {
    if (failure !== undefined) throw failure;
    // Routines, events and views may name any table: one session, once every table is in.
    if (tail.length > 0) {
      const stdin = new PassThrough();
      stdin.end(Buffer.concat([headerBuffer, ...tail]));
      await load.runSession(stdin, signal);
    }
    return { sections, tailBytes };
  } finally {
    await staging.abandon();
    for (const path of leftovers) await rm(path, { force: true });
  }
}
