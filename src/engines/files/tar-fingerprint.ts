// Fingerprint a tar stream as it is written: capture feeds every chunk it
// stores through a tar parser, so the fingerprint describes exactly the bytes
// in the repository (same pass, no second walk that could see another tree).

import { createHash, type Hash } from "node:crypto";
import { Parser, type ReadEntry } from "tar";
import type { Fingerprint } from "../../domain/fingerprint.ts";
import { LifeboatError } from "../../errors.ts";
import { treeFingerprint, type TreeRecord } from "./tree-hash.ts";

/** Archive paths as stored ("dir/", "./") to record paths ("dir", ""). */
export function normalizeArchivePath(path: string): string {
  let normalized = path.replace(/\/+$/, "");
  while (normalized.startsWith("./")) normalized = normalized.slice(2);
  return normalized === "." ? "" : normalized;
}

export class TarFingerprinter {
  private readonly parser: Parser;
  private readonly records = new Map<string, TreeRecord>();
  private readonly problems: string[] = [];
  private readonly done: Promise<void>;

  constructor() {
    this.parser = new Parser({
      onReadEntry: (entry) => this.onEntry(entry),
      onwarn: (code, message) => this.problems.push(`${code}: ${String(message)}`),
    });
    this.done = new Promise((resolve) => this.parser.on("end", () => resolve()));
  }

  write(chunk: Uint8Array): void {
    this.parser.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }

  async finish(): Promise<Fingerprint> {
    this.parser.end();
    await this.done;
    if (this.problems.length > 0) {
      throw new LifeboatError(
        "INTERNAL",
        `the tar stream Lifeboat wrote does not parse: ${this.problems.join("; ")}`,
      );
    }
    return treeFingerprint(this.records.values());
  }

  private onEntry(entry: ReadEntry): void {
    const path = normalizeArchivePath(entry.path);
    const mode = (entry.mode ?? 0) & 0o7777;
    switch (entry.type) {
      case "Directory":
        if (path !== "") this.records.set(path, { path, type: "dir", mode, size: 0, digest: "" });
        break;
      case "SymbolicLink":
        this.records.set(path, { path, type: "symlink", mode: 0, size: 0, digest: entry.linkpath ?? "" });
        break;
      case "Link": {
        // A hard link restores as another name of the same file: same content, same size.
        const original = this.records.get(normalizeArchivePath(entry.linkpath ?? ""));
        if (original?.type !== "file") this.problems.push(`hard link ${path} to unknown ${entry.linkpath}`);
        else this.records.set(path, { ...original, path, mode });
        break;
      }
      case "File":
      case "OldFile":
      case "ContiguousFile": {
        const hash: Hash = createHash("sha256");
        let size = 0;
        entry.on("data", (chunk: Buffer) => {
          hash.update(chunk);
          size += chunk.length;
        });
        entry.on("end", () =>
          this.records.set(path, { path, type: "file", mode, size, digest: hash.digest("hex") }),
        );
        break;
      }
      default:
        this.problems.push(`unexpected ${entry.type} entry ${path}`);
    }
    // The parser waits for each entry to be consumed; bodiless entries must be resumed to end.
    entry.resume();
  }
}
