// Listing and selecting snapshots. Damage stays local: a manifest that cannot
// be read affects only its own snapshot. It is returned beside the readable
// ones (or reported through a warning), never allowed to fail the listing,
// and never skipped silently (docs/repository-format.md, "Manifests").

import type { Snapshot } from "../domain/snapshot.ts";
import { isLifeboatError, LifeboatError } from "../errors.ts";
import type { ErrorCode } from "../errors.ts";
import { listKeys } from "../storage/backend.ts";
import { mapLimited } from "./limiter.ts";
import { readLocalDocument, writeLocalDocument } from "./local-documents.ts";
import { decodeManifest } from "./manifest.ts";
import { SNAPSHOTS_PREFIX, snapshotKey } from "./layout.ts";
import type { ObjectStore } from "./object-store.ts";
import type { DamagedObject, DamagedSnapshot, SnapshotListing } from "./types.ts";

const PARALLEL_MANIFEST_READS = 8;

/** Errors that mean "this manifest is unreadable", as opposed to "the storage failed" (which still throws). */
const MANIFEST_DAMAGE: ReadonlySet<ErrorCode> = new Set([
  "CHECKSUM_MISMATCH",
  "OBJECT_TRUNCATED",
  "OBJECT_MISSING",
  "REPOSITORY_FORMAT_TOO_NEW",
]);

/** Oldest first by consistent point, then finish time, then id; each time parsed once, not per comparison. */
function sortedByConsistentPoint(snapshots: readonly Snapshot[]): Snapshot[] {
  return snapshots
    .map((snapshot) => ({ snapshot, at: Date.parse(snapshot.consistentAt) }))
    .sort(
      (a, b) =>
        a.at - b.at ||
        a.snapshot.finishedAt.localeCompare(b.snapshot.finishedAt) ||
        a.snapshot.id.localeCompare(b.snapshot.id),
    )
    .map(({ snapshot }) => snapshot);
}

/** The local file of decoded manifests (docs/repository-format.md, "Local cache"). */
const CATALOG_NAME = "snapshots.catalog";

export class SnapshotCatalog {
  readonly #store: ObjectStore;
  readonly #location: string;
  readonly #warn: (warning: DamagedObject) => void;
  /** Manifests are immutable and named by their hash: a decoded one never goes stale. Damage is not cached. */
  readonly #manifests = new Map<string, Snapshot>();
  /** Whether the local catalog was read (undefined: not tried yet in this process). */
  #catalogRestored: boolean | undefined;

  constructor(store: ObjectStore, location: string, warn: (warning: DamagedObject) => void) {
    this.#store = store;
    this.#location = location;
    this.#warn = warn;
  }

  async list(filter: { source?: string } = {}): Promise<SnapshotListing> {
    const ids: string[] = [];
    for await (const key of listKeys(this.#store.backend, SNAPSHOTS_PREFIX))
      ids.push(key.slice(SNAPSHOTS_PREFIX.length));
    const restored = await this.#restoreCatalog();
    // Forgotten elsewhere: drop the decoded and cached copies too.
    const present = new Set(ids);
    let changed = !restored;
    for (const id of this.#manifests.keys()) {
      if (present.has(id)) continue;
      this.#manifests.delete(id);
      changed = true;
    }
    if (changed) await this.#store.cache?.retain(SNAPSHOTS_PREFIX, new Set(ids.map(snapshotKey)));
    const damaged: DamagedSnapshot[] = [];
    const missing = ids.filter((id) => !this.#manifests.has(id));
    await mapLimited(missing, PARALLEL_MANIFEST_READS, async (id) => {
      try {
        await this.#read(id);
        changed = true;
      } catch (error) {
        if (!isLifeboatError(error) || !MANIFEST_DAMAGE.has(error.code)) throw error;
        damaged.push({ id, object: snapshotKey(id), code: error.code, message: error.message });
      }
    });
    if (changed) await this.#saveCatalog();
    const snapshots = sortedByConsistentPoint(
      ids
        .map((id) => this.#manifests.get(id))
        .filter((snapshot): snapshot is Snapshot => snapshot !== undefined)
        .filter((snapshot) => filter.source === undefined || snapshot.source === filter.source),
    );
    damaged.sort((a, b) => a.id.localeCompare(b.id));
    return { snapshots, damaged };
  }

  /**
   * Once per process: the decoded manifests this host kept from earlier runs
   * (one sealed file instead of a manifest each, so listing 100,000
   * snapshots is one read). True when there was one.
   */
  async #restoreCatalog(): Promise<boolean> {
    if (this.#catalogRestored !== undefined) return this.#catalogRestored;
    const plaintext = await readLocalDocument(this.#store, CATALOG_NAME);
    let restored = false;
    if (plaintext) {
      try {
        const entries = JSON.parse(plaintext.toString("utf8")) as Snapshot[];
        for (const snapshot of entries)
          if (!this.#manifests.has(snapshot.id)) this.#manifests.set(snapshot.id, snapshot);
        restored = true;
      } catch {
        // Authentic but unreadable (a different Lifeboat's shape): rebuilt from the manifests.
      }
    }
    this.#catalogRestored = restored;
    return restored;
  }

  async #saveCatalog(): Promise<void> {
    await writeLocalDocument(
      this.#store,
      CATALOG_NAME,
      Buffer.from(JSON.stringify([...this.#manifests.values()])),
    );
    this.#catalogRestored = true;
  }

  /** The readable snapshots; damaged manifests go to the warning hook. */
  async readable(filter: { source?: string } = {}): Promise<Snapshot[]> {
    const { snapshots, damaged } = await this.list(filter);
    for (const damage of damaged) this.#warn(damage);
    return snapshots;
  }

  async find(selector: string, source?: string): Promise<Snapshot> {
    const scope = source === undefined ? "" : ` of source ${source}`;
    const notFound = (what: string) =>
      new LifeboatError("SNAPSHOT_NOT_FOUND", `${what}${scope} in ${this.#location}`, {
        details: { selector, ...(source === undefined ? {} : { source }) },
      });
    if (selector !== "latest" && !/^[0-9a-f]*$/i.test(selector)) throw notFound(`no snapshot ${selector}`);
    const { snapshots, damaged } = await this.list(source === undefined ? {} : { source });

    if (selector === "latest") {
      // A damaged manifest's source and time are unknown: it may have been the latest.
      for (const damage of damaged) this.#warn(latestCaveat(damage, scope));
      const latest = snapshots.at(-1);
      if (latest) return latest;
      if (damaged.length > 0) throw damageError(damaged, `no readable snapshot${scope} in ${this.#location}`);
      throw notFound("no snapshot");
    }

    const wanted = selector.toLowerCase();
    const matches = snapshots.filter((snapshot) => snapshot.id.startsWith(wanted));
    const damagedMatches = damaged.filter((damage) => damage.id.startsWith(wanted));
    const candidates = [
      ...matches.map((snapshot) => snapshot.id),
      ...damagedMatches.map((damage) => damage.id),
    ];
    if (candidates.length > 1) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `snapshot id prefix ${selector} is ambiguous: ${candidates.join(", ")}`,
        {
          details: { selector, candidates },
          hint: "Give more characters of the snapshot id.",
        },
      );
    }
    if (matches.length === 1) return matches[0]!;
    if (damagedMatches.length === 1) throw damageError(damagedMatches, `snapshot ${selector} cannot be read`);
    throw notFound(`no snapshot ${selector}`);
  }

  /** Delete the manifest, then drop it from the cache so this process no longer lists it. */
  async forget(id: string): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(id)) {
      throw new LifeboatError("BAD_ARGUMENT", `${id} is not a full snapshot id`, { details: { id } });
    }
    await this.#store.backend.delete(snapshotKey(id));
    this.#manifests.delete(id);
    await this.#store.cache?.remove(snapshotKey(id));
  }

  async #read(id: string): Promise<Snapshot> {
    const cached = this.#manifests.get(id);
    if (cached) return cached;
    const snapshot = decodeManifest(id, await this.#store.readManifest(id));
    this.#manifests.set(id, snapshot);
    return snapshot;
  }
}

function latestCaveat(damage: DamagedSnapshot, scope: string): DamagedSnapshot {
  return {
    ...damage,
    message: `${damage.message}; it cannot be read, so the latest readable snapshot${scope} is used, though this one may have been newer (run \`lifeboat check\`)`,
  };
}

/** The damage error of the (first) damaged manifest, naming it: a damaged snapshot is an integrity failure, not "not found". */
function damageError(damaged: readonly DamagedSnapshot[], why: string): LifeboatError {
  const first = damaged[0]!;
  const named = damaged.map((damage) => damage.object).join(", ");
  return new LifeboatError(first.code, `${why}: ${named} cannot be read (${first.message})`, {
    details: { object: first.object, damaged },
  });
}
