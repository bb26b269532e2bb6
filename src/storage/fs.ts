// The filesystem backend: one file per object under a root directory.
//
// Atomicity comes from the filesystem, not from luck: every put writes a temp
// file in the object's own directory (same filesystem, so rename is atomic),
// fsyncs it, renames it into place and fsyncs the directory so the rename
// itself survives a power cut. A conditional put uses link(), which fails with
// EEXIST instead of replacing, so two writers can never both "win".
// Temp files are named `.tmp-<random>`; list() never shows them and
// cleanupInterrupted() removes the ones a killed process left behind.

import { randomBytes } from "node:crypto";
import { makeDirectories } from "../runtime/make-directories.ts";
import type { Dirent } from "node:fs";
import { link, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { LifeboatError } from "../errors.ts";
import { bytesInRange, describeRange, validateRange } from "./byte-range.ts";
import {
  TEMP_PREFIX,
  validateKey,
  type Backend,
  type ByteRange,
  type CleanupOptions,
  type ObjectInfo,
  type PutOptions,
} from "./backend.ts";

export class FsBackend implements Backend {
  readonly location: string;
  readonly capabilities = { atomicPut: true, conditionalPut: true, listAfterWriteConsistent: true } as const;
  readonly #root: string;

  constructor(rootDir: string) {
    this.#root = resolve(rootDir);
    this.location = this.#root;
  }

  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    const finalPath = this.#pathOf(key);
    const dir = dirname(finalPath);
    const tempPath = join(dir, TEMP_PREFIX + randomBytes(8).toString("hex"));
    let tempExists = false;
    try {
      const firstCreated = await makeDirectories(dir);
      const handle = await open(tempPath, "wx", 0o600);
      tempExists = true;
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (options.ifAbsent) {
        // link() refuses to replace an existing name, atomically.
        await link(tempPath, finalPath);
        await unlink(tempPath);
      } else {
        await rename(tempPath, finalPath);
      }
      tempExists = false;
      await syncDir(dir);
      // New directories must themselves be recorded in their parents.
      if (firstCreated !== undefined) {
        for (let d = dir; d !== dirname(firstCreated); d = dirname(d)) await syncDir(dirname(d));
      }
    } catch (error) {
      if (tempExists) await unlink(tempPath).catch(() => {});
      if (options.ifAbsent && errnoOf(error) === "EEXIST") {
        throw new LifeboatError("STORAGE_ERROR", `object ${key} already exists in ${this.location}`, {
          details: { key, reason: "exists" },
        });
      }
      throw storageError(`put ${key}`, finalPath, error, key);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const path = this.#pathOf(key);
    if (range !== undefined) validateRange(key, range);
    try {
      if (range !== undefined) return await readRange(path, range);
      const buffer = await readFile(path);
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    } catch (error) {
      if (isNotAnObject(error)) {
        throw new LifeboatError("OBJECT_MISSING", `object ${key} is missing from ${this.location}`, {
          details: { key },
        });
      }
      const what = range === undefined ? `get ${key}` : `get ${key} (${describeRange(range)})`;
      throw storageError(what, path, error, key);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const path = this.#pathOf(key);
    try {
      const info = await stat(path);
      return info.isFile() ? { key, size: info.size } : undefined;
    } catch (error) {
      if (isNotAnObject(error)) return undefined;
      throw storageError(`stat ${key}`, path, error, key);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for await (const entry of this.#walk(this.#folderOf(prefix))) {
      const key = this.#keyUnder(prefix, entry);
      if (key !== undefined) yield { key, size: entry.size, modifiedMs: entry.mtimeMs };
    }
  }

  /** list() without a stat per file: a listing of 100,000 manifests costs a readdir, not 100,000 stats. */
  async *listKeys(prefix: string): AsyncIterable<string> {
    const folder = this.#folderOf(prefix);
    const base = folder === this.#root ? "" : `${relative(this.#root, folder).split(sep).join("/")}/`;
    for await (const key of this.#keys(folder, base)) if (key.startsWith(prefix)) yield key;
  }

  /** Keys under `dir` (whose key prefix is `base`), built by concatenation: no path call per file. */
  async *#keys(dir: string, base: string): AsyncGenerator<string> {
    const subdirs: string[] = [];
    for (const entry of await readFolder(dir)) {
      if (entry.isDirectory()) subdirs.push(entry.name);
      else if (entry.isFile() && !entry.name.startsWith(TEMP_PREFIX)) yield base + entry.name;
    }
    for (const sub of subdirs) yield* this.#keys(join(dir, sub), `${base}${sub}/`);
  }

  /** The deepest folder a prefix names: the walk starts there and filters by the full prefix, so "data/" and "data/ab" both work. */
  #folderOf(prefix: string): string {
    const folder = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    if (folder !== "") validateKey(folder);
    return folder === "" ? this.#root : join(this.#root, folder);
  }

  #keyUnder(prefix: string, entry: { path: string; temp: boolean }): string | undefined {
    if (entry.temp) return undefined;
    const key = relative(this.#root, entry.path).split(sep).join("/");
    return key.startsWith(prefix) ? key : undefined;
  }

  async delete(key: string): Promise<void> {
    const path = this.#pathOf(key);
    try {
      await unlink(path);
    } catch (error) {
      if (errnoOf(error) === "ENOENT" || errnoOf(error) === "ENOTDIR") return;
      throw storageError(`delete ${key}`, path, error, key);
    }
  }

  async cleanupInterrupted(olderThanMs: number, options: CleanupOptions = {}): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for await (const entry of this.#walk(this.#root)) {
      if (!entry.temp || entry.mtimeMs > cutoff) continue;
      if (options.dryRun) {
        removed++;
        continue;
      }
      try {
        await unlink(entry.path);
        removed++;
      } catch (error) {
        // Another cleaner (or the writer's own error path) got there first.
        if (errnoOf(error) !== "ENOENT") throw storageError("cleanup", entry.path, error);
      }
    }
    return removed;
  }

  async close(): Promise<void> {}

  #pathOf(key: string): string {
    validateKey(key);
    return join(this.#root, ...key.split("/"));
  }

  async *#walk(dir: string): AsyncGenerator<{ path: string; size: number; mtimeMs: number; temp: boolean }> {
    const subdirs: string[] = [];
    for (const entry of await readFolder(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        subdirs.push(path);
      } else if (entry.isFile()) {
        let info;
        try {
          info = await stat(path);
        } catch (error) {
          if (errnoOf(error) === "ENOENT") continue; // deleted while we listed
          throw storageError("list", path, error);
        }
        yield { path, size: info.size, mtimeMs: info.mtimeMs, temp: entry.name.startsWith(TEMP_PREFIX) };
      }
    }
    for (const sub of subdirs) yield* this.#walk(sub);
  }
}

/**
 * Only the range's bytes are read (a chunk out of a pack of tens of MiB).
 * Objects are never rewritten in place (put renames a new file over the
 * name), so the open handle sees one whole version of the object.
 */
async function readRange(path: string, range: ByteRange): Promise<Uint8Array> {
  const handle = await open(path, "r");
  try {
    const info = await handle.stat();
    // open() succeeds on a directory; reading it would fail with EISDIR, as readFile does.
    if (!info.isFile()) throw Object.assign(new Error(`${path} is not a file`), { code: "EISDIR" });
    const bytes = new Uint8Array(bytesInRange(info.size, range));
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, range.offset + filled);
      // The file is shorter than its size said (truncated under us): what exists is the answer.
      if (bytesRead === 0) return bytes.slice(0, filled);
      filled += bytesRead;
    }
    return bytes;
  } finally {
    await handle.close();
  }
}

/**
 * A folder's entries: one readdir per folder, not an iterator step per entry
 * (listing 100,000 manifests is milliseconds). A folder nobody has written
 * to yet holds no objects.
 */
async function readFolder(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (errnoOf(error) === "ENOENT" || errnoOf(error) === "ENOTDIR") return [];
    throw storageError("list", dir, error);
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function errnoOf(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined;
}

/** ENOENT, or a path component that is a file, or a directory where an object should be. */
function isNotAnObject(error: unknown): boolean {
  const code = errnoOf(error);
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

function storageError(operation: string, path: string, error: unknown, key?: string): LifeboatError {
  if (error instanceof LifeboatError) return error;
  const errno = errnoOf(error) ?? "unknown";
  const reason = error instanceof Error ? error.message : String(error);
  // A read-only mount (EROFS) or a copy we may not write (EACCES, EPERM):
  // commands that only read go on without a lock, writers fail clearly.
  const readOnly = ["EROFS", "EACCES", "EPERM"].includes(errno);
  return new LifeboatError("STORAGE_ERROR", `${operation} failed at ${path}: ${errno} (${reason})`, {
    cause: error,
    // A local disk error does not heal by retrying; EAGAIN/EBUSY/EINTR may.
    details: {
      path,
      errno,
      retryable: ["EAGAIN", "EBUSY", "EINTR"].includes(errno),
      ...(readOnly ? { readOnly } : {}),
      ...(key ? { key } : {}),
    },
  });
}
