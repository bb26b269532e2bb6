// Counting the rows of a mariadb-dump stream as it passes on its way to the
// repository, so the capture's fingerprint describes exactly the stored
// bytes (the dump's own consistent snapshot) without holding a lock on the
// source or racing the dump's transaction (README.md, "Consistent point").
//
// The scanner is a small SQL lexer over raw bytes: single- and double-quoted
// strings with backslash escapes, backtick identifiers (`` doubled), `-- ` and
// `#` line comments, plain `/* */` comments, executable `/*! */` comments
// (whose strings are lexed, as the client does), and the client's DELIMITER
// command. A statement that starts with `INSERT INTO` while the delimiter is
// `;` is a data statement: every `(` at depth 0 after its VALUES keyword
// opens one row. Routine, trigger and event bodies (between DELIMITER ;; and
// DELIMITER ;) are never counted, and text inside strings, identifiers and
// comments can never look like a statement. It keeps a few numbers of state,
// so a chunk boundary can fall anywhere, and reads each byte once.

import { createHash, type Hash } from "node:crypto";
import { LifeboatError } from "../../errors.ts";

/** Lexer states (plain numbers: the switch over them is the hot loop). */
const Lex = {
  Normal: 0,
  SingleQuote: 1,
  DoubleQuote: 2,
  Backtick: 3,
  BacktickClose: 4,
  BlockComment: 5,
  LineComment: 6,
  DelimiterLine: 7,
} as const;
type Lex = (typeof Lex)[keyof typeof Lex];

/** What the current statement is, decided from its first bytes. */
const Kind = { Undecided: 0, Insert: 1, Use: 2, Other: 3 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

const SPACE = 0x20;
const TAB = 0x09;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const QUOTE = 0x27;
const DOUBLE_QUOTE = 0x22;
const BACKTICK = 0x60;
const BACKSLASH = 0x5c;
const SLASH = 0x2f;
const STAR = 0x2a;
const BANG = 0x21;
const DASH = 0x2d;
const HASH = 0x23;
const OPEN = 0x28;
const CLOSE = 0x29;

export interface ScanOptions {
  /** The dump holds several databases (USE lines): keys are `<db>.<table>`; otherwise `<table>`. */
  readonly several: boolean;
  /** Also hash every row's bytes (the deep check): `content:<key>`. */
  readonly contentHashes: boolean;
}

export interface ScanSummary {
  /** Rows per table key, for every table the dump holds data of. */
  readonly rows: ReadonlyMap<string, number>;
  /** Per-table content hashes (32 hex digits), when asked for. */
  readonly hashes: ReadonlyMap<string, string>;
  readonly bytes: number;
}

interface TableSums {
  rows: number;
  first: bigint;
  second: bigint;
}

export class DumpScanner {
  private state: Lex = Lex.Normal;
  /** The string/identifier states return here: Normal, or BlockComment inside an executable comment. */
  private inExecutable = false;
  private escaped = false;
  private pendingSlash = false;
  private pendingStar = false;
  private pendingDashes = 0;
  private commentStart = false;
  private lineComment = "";
  private delimiter: number[] = [0x3b];
  private delimiterText = "";
  private matched = 0;
  private atStart = true;
  private head = "";
  private kind: Kind = Kind.Undecided;
  private identifier: number[] | undefined;
  private tableKey: string | undefined;
  private word = "";
  private valuesSeen = false;
  private depth = 0;
  private tuple: Hash | undefined;
  private tupleStart = 0;
  private database: string | undefined;
  private completedTrailer = false;
  private total = 0;
  private readonly tables = new Map<string, TableSums>();

  private readonly options: ScanOptions;

  constructor(options: ScanOptions) {
    this.options = options;
  }

  /** True once the tool's own `-- Dump completed` trailer has passed. */
  get completed(): boolean {
    return this.completedTrailer;
  }

  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    this.tupleStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      switch (this.state) {
        case Lex.SingleQuote:
        case Lex.DoubleQuote:
          if (this.escaped) this.escaped = false;
          else if (byte === BACKSLASH) this.escaped = true;
          else if (byte === (this.state === Lex.SingleQuote ? QUOTE : DOUBLE_QUOTE)) this.leaveString();
          continue;
        case Lex.Backtick:
          if (byte === BACKTICK) this.state = Lex.BacktickClose;
          else this.identifier?.push(byte);
          continue;
        case Lex.BacktickClose:
          if (byte === BACKTICK) {
            this.identifier?.push(byte);
            this.state = Lex.Backtick;
            continue;
          }
          this.closeIdentifier();
          i--; // this byte is the first after the identifier: lex it again in the state we returned to
          continue;
        case Lex.LineComment:
          if (byte === NEWLINE) this.endLineComment();
          else if (this.lineComment.length < 20) this.lineComment += String.fromCharCode(byte);
          continue;
        case Lex.DelimiterLine:
          if (byte === NEWLINE) this.setDelimiter();
          else this.delimiterText += String.fromCharCode(byte);
          continue;
        case Lex.BlockComment:
          if (this.commentStart) {
            // The byte after "/*": "!" (or "M!", MariaDB's) makes it executable SQL.
            this.commentStart = false;
            if (byte === BANG || byte === 0x4d) {
              this.inExecutable = true;
              continue;
            }
          }
          if (this.pendingStar && byte === SLASH) {
            this.pendingStar = false;
            this.inExecutable = false;
            this.state = Lex.Normal;
            continue;
          }
          this.pendingStar = byte === STAR;
          if (this.inExecutable && (byte === QUOTE || byte === DOUBLE_QUOTE)) {
            this.state = byte === QUOTE ? Lex.SingleQuote : Lex.DoubleQuote;
          } else if (this.inExecutable && byte === BACKTICK) {
            this.state = Lex.Backtick;
          }
          continue;
        case Lex.Normal:
          break;
      }
      this.normal(byte, chunk, i);
    }
    if (this.tuple) this.tuple.update(chunk.subarray(this.tupleStart));
  }

  /** One byte outside strings, identifiers and comments. */
  private normal(byte: number, chunk: Uint8Array, i: number): void {
    if (this.pendingSlash) {
      this.pendingSlash = false;
      if (byte === STAR) {
        this.state = Lex.BlockComment;
        this.commentStart = true;
        this.pendingStar = false;
        return;
      }
      this.statementByte(SLASH, chunk, i);
    }
    if (this.pendingDashes > 0) {
      if (this.pendingDashes === 1 && byte === DASH) {
        this.pendingDashes = 2;
        return;
      }
      const dashes = this.pendingDashes;
      this.pendingDashes = 0;
      if (dashes === 2 && (byte === SPACE || byte === TAB || byte === NEWLINE || byte === RETURN)) {
        this.lineComment = "-- ";
        if (byte === NEWLINE) this.endLineComment();
        else this.state = Lex.LineComment;
        return;
      }
      for (let n = 0; n < dashes; n++) this.statementByte(DASH, chunk, i);
    }
    if (byte === SLASH) {
      this.pendingSlash = true;
      return;
    }
    if (byte === DASH) {
      this.pendingDashes = 1;
      return;
    }
    if (byte === HASH) {
      this.lineComment = "#";
      this.state = Lex.LineComment;
      return;
    }
    this.statementByte(byte, chunk, i);
  }

  /** A byte of the statement itself (not a comment). */
  private statementByte(byte: number, chunk: Uint8Array, i: number): void {
    if (this.atStart) {
      if (byte === SPACE || byte === TAB || byte === NEWLINE || byte === RETURN) return;
      this.atStart = false;
    }
    if (this.kind === Kind.Undecided) this.decide(byte);
    if (this.state === Lex.DelimiterLine) return;
    if (byte === this.delimiter[this.matched]) {
      this.matched++;
      if (this.matched === this.delimiter.length) {
        this.endStatement();
        return;
      }
    } else {
      this.matched = byte === this.delimiter[0] ? 1 : 0;
    }
    if (byte === QUOTE || byte === DOUBLE_QUOTE) {
      this.state = byte === QUOTE ? Lex.SingleQuote : Lex.DoubleQuote;
      return;
    }
    if (byte === BACKTICK) {
      this.state = Lex.Backtick;
      const wantsName =
        (this.kind === Kind.Insert && this.tableKey === undefined) ||
        (this.kind === Kind.Use && this.database === undefined);
      this.identifier = wantsName ? [] : undefined;
      return;
    }
    if (this.kind !== Kind.Insert) return;
    if (!this.valuesSeen) {
      const letter = (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7a;
      if (letter) {
        this.word += String.fromCharCode(byte & ~0x20);
        return;
      }
      if (this.word === "VALUES" && this.depth === 0) this.valuesSeen = true;
      this.word = "";
    }
    if (byte === OPEN) {
      if (this.depth === 0 && this.valuesSeen) this.openRow(i);
      this.depth++;
    } else if (byte === CLOSE) {
      this.depth--;
      if (this.depth === 0 && this.tuple) this.closeRow(chunk, i);
    }
  }

  /** Decide from the statement's first bytes what it is. */
  private decide(byte: number): void {
    this.head += String.fromCharCode(byte).toUpperCase();
    const head = this.head;
    const candidates = this.delimiter.length === 1 ? ["INSERT INTO ", "USE ", "DELIMITER "] : ["DELIMITER "];
    if (candidates.includes(head)) {
      if (head === "DELIMITER ") {
        this.state = Lex.DelimiterLine;
        this.delimiterText = "";
      } else {
        this.kind = head === "USE " ? Kind.Use : Kind.Insert;
        if (this.kind === Kind.Use) this.database = undefined;
      }
      return;
    }
    if (!candidates.some((candidate) => candidate.startsWith(head))) this.kind = Kind.Other;
  }

  private leaveString(): void {
    this.state = this.inExecutable ? Lex.BlockComment : Lex.Normal;
  }

  private closeIdentifier(): void {
    this.state = this.inExecutable ? Lex.BlockComment : Lex.Normal;
    if (!this.identifier) return;
    const name = Buffer.from(this.identifier).toString("utf8");
    this.identifier = undefined;
    if (this.kind === Kind.Use) {
      this.database = name;
      return;
    }
    if (!this.options.several) {
      this.tableKey = name;
      return;
    }
    if (this.database === undefined) throw scanError(`data for table ${name} comes before any USE statement`);
    this.tableKey = `${this.database}.${name}`;
  }

  private openRow(i: number): void {
    if (this.tableKey === undefined) throw scanError("an INSERT statement without a table name");
    let sums = this.tables.get(this.tableKey);
    if (!sums) {
      sums = { rows: 0, first: 0n, second: 0n };
      this.tables.set(this.tableKey, sums);
    }
    sums.rows++;
    if (this.options.contentHashes) {
      this.tuple = createHash("sha256");
      this.tupleStart = i;
    }
  }

  private closeRow(chunk: Uint8Array, i: number): void {
    const digest = this.tuple!.update(chunk.subarray(this.tupleStart, i + 1)).digest();
    this.tuple = undefined;
    const sums = this.tables.get(this.tableKey!)!;
    sums.first = BigInt.asUintN(64, sums.first + digest.readBigUInt64BE(0));
    sums.second = BigInt.asUintN(64, sums.second + digest.readBigUInt64BE(8));
  }

  private endLineComment(): void {
    if (/^-- Dump completed/.test(this.lineComment)) this.completedTrailer = true;
    this.state = Lex.Normal;
  }

  private setDelimiter(): void {
    const text = this.delimiterText.trim();
    if (text === "") throw scanError("a DELIMITER command without a delimiter");
    this.delimiter = [...Buffer.from(text)];
    this.endStatement();
  }

  private endStatement(): void {
    if (this.kind === Kind.Insert && this.depth !== 0)
      throw scanError("unbalanced parentheses in a data statement");
    this.state = Lex.Normal;
    this.matched = 0;
    this.atStart = true;
    this.head = "";
    this.kind = Kind.Undecided;
    this.tableKey = undefined;
    this.word = "";
    this.valuesSeen = false;
    this.depth = 0;
  }

  /** The counts, once the whole dump passed; a dump that does not end cleanly is an error. */
  finish(): ScanSummary {
    const clean =
      this.state === Lex.Normal && this.atStart && this.delimiter.length === 1 && !this.pendingSlash;
    if (!clean) throw scanError("the dump ends inside a statement, string or comment");
    const rows = new Map<string, number>();
    const hashes = new Map<string, string>();
    const hex = (sum: bigint) => sum.toString(16).padStart(16, "0");
    for (const [key, sums] of this.tables) {
      rows.set(key, sums.rows);
      if (this.options.contentHashes) hashes.set(key, hex(sums.first) + hex(sums.second));
    }
    return { rows, hashes, bytes: this.total };
  }
}

function scanError(why: string): LifeboatError {
  return new LifeboatError(
    "SOURCE_TOOL_FAILED",
    `the dump could not be read back to count its rows: ${why}`,
    {
      hint: "The dump tool wrote something Lifeboat's row counter does not understand; please report it with the tool's version.",
    },
  );
}

/** The hash of a table with no rows, so a table the dump holds no data for compares equal. */
export const emptyContentHash = "0".repeat(32);
