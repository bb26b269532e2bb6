// A faster load of a mariadb-dump stream, with the same result: InnoDB
// builds a secondary index much faster by sorting once after the rows are in
// than by inserting into it row by row (what myloader's
// --innodb-optimize-keys does). So, as the dump streams to the client, each
// CREATE TABLE loses its plain and unique secondary KEY lines, and right
// after that table's data (its UNLOCK TABLES) one ALTER TABLE adds them all,
// in their original order, so the table ends exactly as dumped. Tables with
// a CONSTRAINT (a foreign key needs its index at creation; CHECKs are kept
// together) or a FULLTEXT or SPATIAL key are passed through untouched.
// Dump lines never hold a raw newline inside a value (mariadb-dump writes
// \n), so the stream is cut at newlines and only line starts are looked at.

import { Transform, type TransformCallback } from "node:stream";

const NEWLINE = 0x0a;
const createPrefix = Buffer.from("CREATE TABLE `");
const lockPrefix = Buffer.from("LOCK TABLES `");
const unlockLine = Buffer.from("UNLOCK TABLES;");

function startsWith(buffer: Buffer, at: number, prefix: Buffer): boolean {
  return (
    buffer.length - at >= prefix.length &&
    buffer.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0
  );
}

/** `CREATE TABLE \`a``b\` (` → a`b; the name as the dump quotes it, kept quoted for the ALTER. */
function quotedName(line: string, prefix: string): string | undefined {
  const match = new RegExp(`^${prefix}(\`(?:[^\`]|\`\`)+\`)`).exec(line);
  return match?.[1];
}

/** Rewrite one CREATE TABLE statement's lines; returns them and the deferred key definitions. */
export function deferKeys(lines: readonly string[]): { lines: string[]; keys: string[] } {
  const body = lines.slice(1);
  const closing = body.findIndex((line) => line.startsWith(")"));
  if (closing < 0) return { lines: [...lines], keys: [] };
  const definitions = body.slice(0, closing);
  if (definitions.some((line) => /^\s+(CONSTRAINT|FULLTEXT|SPATIAL|VECTOR)\b/.test(line)))
    return { lines: [...lines], keys: [] };
  const isSecondary = (line: string) => /^\s+(UNIQUE )?KEY `/.test(line);
  const keys = definitions.filter(isSecondary).map((line) => line.trim().replace(/,$/, ""));
  if (keys.length === 0) return { lines: [...lines], keys: [] };
  const kept = definitions.filter((line) => !isSecondary(line)).map((line) => line.replace(/,$/, ""));
  const rejoined = kept.map((line, index) => (index < kept.length - 1 ? `${line},` : line));
  return { lines: [lines[0]!, ...rejoined, ...body.slice(closing)], keys };
}

/** Where a table's deferred keys go once its rows have passed: into the stream, or to a caller (key-builder.ts). */
export type KeysReady = (table: string, keys: readonly string[]) => void;

export class DeferredKeys extends Transform {
  readonly #ready: KeysReady | undefined;
  constructor(ready?: KeysReady) {
    super();
    this.#ready = ready;
  }

  #carry: Buffer = Buffer.alloc(0);
  /** Lines of a CREATE TABLE statement being collected, or undefined outside one. */
  #create: string[] | undefined;
  #pending = new Map<string, string[]>();
  #locked: string | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const data = this.#carry.length > 0 ? Buffer.concat([this.#carry, chunk]) : chunk;
    let start = 0; // start of the pass-through range not yet pushed
    let line = 0;
    for (;;) {
      const end = data.indexOf(NEWLINE, line);
      if (end < 0) break;
      if (this.#create) {
        this.#create.push(data.toString("utf8", line, end));
        if (data[line] === 0x29 /* ) */) this.#finishCreate();
        start = end + 1;
      } else if (startsWith(data, line, createPrefix)) {
        if (line > start) this.push(data.subarray(start, line));
        this.#create = [data.toString("utf8", line, end)];
        start = end + 1;
      } else if (startsWith(data, line, lockPrefix)) {
        this.#locked = quotedName(data.toString("utf8", line, Math.min(end, line + 400)), "LOCK TABLES ");
      } else if (startsWith(data, line, unlockLine) && this.#locked !== undefined) {
        const keys = this.#pending.get(this.#locked);
        if (keys && this.#ready) {
          this.#ready(this.#locked, keys);
          this.#pending.delete(this.#locked);
        } else if (keys) {
          this.push(data.subarray(start, end + 1));
          this.push(Buffer.from(alterFor(this.#locked, keys)));
          this.#pending.delete(this.#locked);
          start = end + 1;
        }
        this.#locked = undefined;
      }
      line = end + 1;
    }
    if (this.#create) {
      this.#carry = Buffer.from(data.subarray(start));
    } else {
      // Pass on everything but a partial last line, which may start a statement we look at.
      if (line > start) this.push(data.subarray(start, line));
      this.#carry = Buffer.from(data.subarray(line));
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.#create) {
      if (this.#carry.length > 0) this.#create.push(this.#carry.toString("utf8"));
      this.push(this.#create.join("\n"));
      this.#create = undefined;
    } else if (this.#carry.length > 0) this.push(this.#carry);
    // A table without a data section still gets its keys.
    for (const [table, keys] of this.#pending)
      if (this.#ready) this.#ready(table, keys);
      else this.push(Buffer.from(`\n${alterFor(table, keys)}`));
    this.#pending.clear();
    done();
  }

  #finishCreate(): void {
    const lines = this.#create!;
    this.#create = undefined;
    const table = quotedName(lines[0]!, "CREATE TABLE ");
    const { lines: rewritten, keys } = table ? deferKeys(lines) : { lines, keys: [] };
    if (table && keys.length > 0) this.#pending.set(table, keys);
    this.push(Buffer.from(rewritten.join("\n") + "\n"));
  }
}

export function alterFor(table: string, keys: readonly string[]): string {
  return `ALTER TABLE ${table} ${keys.map((key) => `ADD ${key}`).join(", ")};\n`;
}
