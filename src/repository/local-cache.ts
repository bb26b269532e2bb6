// The local cache of one repository (docs/repository-format.md, "Local
// cache"): copies of immutable objects (index/, snapshots/) exactly as
// stored, still encrypted, under <cache dir>/<repository id>/<key>. Named by
// their hash and verified on every use, a cached copy is either valid or
// detected as damaged and fetched again. The cache is never needed for
// correctness: a cache that cannot be written is warned about once and
// then bypassed.

import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

export class LocalCache {
  readonly directory: string;
  readonly #onWarning: (message: string) => void;
  #broken = false;

  constructor(directory: string, onWarning: (message: string) => void) {
    this.directory = directory;
    this.#onWarning = onWarning;
  }

  /** The cached copy of `key`, or undefined when there is none (or the cache is unreadable). */
  async read(key: string): Promise<Buffer | undefined> {
    if (this.#broken) return undefined;
    try {
      return await readFile(this.#path(key));
    } catch {
      return undefined;
    }
  }

  /** Keep a copy of `key` (written to a temp name, then renamed: never half a file). */
  async write(key: string, bytes: Uint8Array): Promise<void> {
    if (this.#broken) return;
    const path = this.#path(key);
    const temp = `${path}.tmp-${randomBytes(4).toString("hex")}`;
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await writeFile(temp, bytes, { mode: 0o600 });
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => {});
      this.#broken = true;
      const why = error instanceof Error ? error.message : String(error);
      this.#onWarning(`the local cache ${this.directory} cannot be written (${why}); working without it`);
    }
  }

  /** Drop a copy (it failed verification, or the object is gone). */
  async remove(key: string): Promise<void> {
    await rm(this.#path(key), { force: true }).catch(() => {});
  }

  /** Remove cached copies under `folder` (e.g. "snapshots/") whose keys are not in `keep`. */
  async retain(folder: string, keep: ReadonlySet<string>): Promise<void> {
    if (this.#broken) return;
    let names: string[];
    try {
      names = await readdir(this.#path(folder));
    } catch {
      return;
    }
    for (const name of names) {
      if (!keep.has(folder + name)) await rm(join(this.#path(folder), name), { force: true }).catch(() => {});
    }
  }

  #path(key: string): string {
    // Keys are the repository's own (validated by the backends): folder/hex.
    return join(this.directory, ...key.split("/"));
  }
}
