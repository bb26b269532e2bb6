// Reading the JSON documents kept beside the snapshots (drill reports, run
// records). Documents are never rewritten, so one read and verified stays
// good: in this process, and per folder in a sealed local catalog
// (`<folder>.catalog` in the local cache, docs/repository-format.md "Local
// cache"), so a status on a repository of thousands of run records reads
// only the new ones from storage.

import { LifeboatError } from "../errors.ts";
import { mapLimited } from "./limiter.ts";
import { readLocalDocument, writeLocalDocument } from "./local-documents.ts";
import type { ObjectStore } from "./object-store.ts";

const PARALLEL_DOCUMENT_READS = 8;

export class DocumentCatalog {
  readonly #store: ObjectStore;
  /** Decoded documents by key. */
  readonly #documents = new Map<string, unknown>();
  readonly #loaded = new Set<string>();

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  /** The documents under `keys` (all in one folder), decoded, in the same order. */
  async read(what: string, keys: readonly string[]): Promise<unknown[]> {
    const folder = keys[0]?.slice(0, keys[0].indexOf("/"));
    if (folder) await this.#load(folder);
    let added = false;
    const documents = await mapLimited(keys, PARALLEL_DOCUMENT_READS, async (key) => {
      const known = this.#documents.get(key);
      if (known !== undefined) return known;
      const plaintext = await this.#store.readDocument(key);
      let document: unknown;
      try {
        document = JSON.parse(plaintext.toString("utf8")) as unknown;
      } catch (error) {
        throw new LifeboatError("CHECKSUM_MISMATCH", `${what} ${key} is not valid JSON`, {
          details: { object: key },
          cause: error,
        });
      }
      this.#documents.set(key, document);
      added = true;
      return document;
    });
    if (folder && added) await this.#save(folder);
    return documents;
  }

  async #load(folder: string): Promise<void> {
    if (this.#loaded.has(folder)) return;
    this.#loaded.add(folder);
    const plaintext = await readLocalDocument(this.#store, `${folder}.catalog`);
    if (!plaintext) return;
    try {
      const entries = JSON.parse(plaintext.toString("utf8")) as [string, unknown][];
      for (const [key, document] of entries)
        if (typeof key === "string" && key.startsWith(`${folder}/`)) this.#documents.set(key, document);
    } catch {
      // A catalog that does not parse costs only speed: the documents come from storage.
    }
  }

  async #save(folder: string): Promise<void> {
    const entries = [...this.#documents].filter(([key]) => key.startsWith(`${folder}/`));
    // An unwritable cache costs only speed.
    await writeLocalDocument(this.#store, `${folder}.catalog`, Buffer.from(JSON.stringify(entries))).catch(
      () => {},
    );
  }
}
