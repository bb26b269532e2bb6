// The Repository facade over the format's parts, once the master key is open
// (docs/repository-format.md is the contract; repository.ts opens and creates).

import { join } from "node:path";
import type { Snapshot } from "../domain/snapshot.ts";
import type { ArtifactSource } from "../domain/artifacts.ts";
import { LifeboatError } from "../errors.ts";
import type { Backend } from "../storage/backend.ts";
import { RepositoryArtifactSource } from "./artifact-source.ts";
import { checkRepository } from "./check.ts";
import { Chunker } from "./chunker.ts";
import { listStoredChunks, ObjectDestination } from "./chunk-destination.ts";
import type { ChunkDestination } from "./chunk-destination.ts";
import { CONFIG_KEY } from "./config-file.ts";
import { DEFAULT_SCRYPT, gearTableOf } from "./crypto.ts";
import type { MasterKey } from "./crypto.ts";
import { createKeyFile, KEYS_PREFIX, listKeyFiles } from "./key-files.ts";
import type { StoredKey } from "./key-files.ts";
import { LocalCache } from "./local-cache.ts";
import { DocumentCatalog } from "./document-catalog.ts";
import { acquireLock, listLocks } from "./locks.ts";
import { chunkKey, DATA_PREFIX, isDataKey, packKey } from "./layout.ts";
import { decodeManifest, retaggedManifest } from "./manifest.ts";
import { ObjectStore } from "./object-store.ts";
import { DEFAULT_PACK_SIZE, PackDestination } from "./pack-destination.ts";
import { finishMigration, migrateToPacks } from "./migrate.ts";
import { applyPruneWork, pruneCandidates } from "./prune-work.ts";
import { repairIndex } from "./repair-index.ts";
import { SnapshotCatalog } from "./snapshot-catalog.ts";
import type {
  CheckOptions,
  CheckProblem,
  ChunkPlace,
  ChunkSize,
  IndexRepair,
  MigrationResult,
  PruneCandidate,
  PruneOutcome,
  PruneWork,
  CheckReport,
  DamagedObject,
  KeyInfo,
  Lock,
  LockInfo,
  LockKind,
  LockRequestOptions,
  OpeningDamage,
  OpenOptions,
  Repository,
  RepositoryConfigFile,
  SnapshotListing,
  SnapshotWriter,
  WalArchiveSummary,
} from "./types.ts";
import { RepositorySnapshotWriter } from "./writer.ts";
import { WAL_PREFIX, WalArchive } from "./wal-archive.ts";
import { listKeys } from "../storage/backend.ts";

export interface OpenedState {
  readonly config: RepositoryConfigFile;
  /** The authentic config bytes: what `config` holds, or the copy it was recovered from. */
  readonly configBytes: Uint8Array;
  readonly master: MasterKey;
  readonly key: StoredKey;
  readonly damage: OpeningDamage;
}

export class OpenRepository implements Repository {
  readonly config: RepositoryConfigFile;
  readonly location: string;
  readonly damage: OpeningDamage;
  readonly #backend: Backend;
  readonly #configBytes: Uint8Array;
  readonly #master: MasterKey;
  readonly #key: StoredKey;
  readonly #store: ObjectStore;
  readonly #chunker: Chunker;
  readonly #catalog: SnapshotCatalog;
  readonly #warned = new Set<string>();
  readonly #documentCatalog: DocumentCatalog;
  readonly #onWarning: ((warning: DamagedObject) => void) | undefined;

  constructor(backend: Backend, state: OpenedState, options: OpenOptions = {}) {
    this.config = state.config;
    this.location = backend.location;
    this.damage = state.damage;
    this.#backend = backend;
    this.#configBytes = state.configBytes;
    this.#master = state.master;
    this.#key = state.key;
    this.#onWarning = options.onWarning;
    const cache =
      options.cacheDir === undefined
        ? undefined
        : new LocalCache(join(options.cacheDir, state.config.id), options.onCacheProblem ?? (() => {}));
    this.#store = new ObjectStore(backend, state.master, state.config.encryption, state.config.chunker.max, {
      format: state.config.version,
      cache,
    });
    this.#chunker = new Chunker(gearTableOf(state.master), state.config.chunker);
    this.#catalog = new SnapshotCatalog(this.#store, this.location, (warning) => this.#warn(warning));
    this.#documentCatalog = new DocumentCatalog(this.#store);
    if (state.damage.config) this.#warn(state.damage.config);
    for (const key of state.damage.keys) this.#warn(key);
  }

  listSnapshots(filter: { source?: string } = {}): Promise<Snapshot[]> {
    return this.#catalog.readable(filter);
  }

  listSnapshotsWithDamage(filter: { source?: string } = {}): Promise<SnapshotListing> {
    return this.#catalog.list(filter);
  }

  findSnapshot(selector: string, source?: string): Promise<Snapshot> {
    return this.#catalog.find(selector, source);
  }

  forgetSnapshot(id: string): Promise<void> {
    return this.#catalog.forget(id);
  }

  async replaceSnapshotTags(snapshot: Snapshot, tags: readonly string[]): Promise<Snapshot> {
    if ([...new Set(tags)].sort().join("\n") === [...snapshot.tags].sort().join("\n")) return snapshot;
    const manifest = retaggedManifest(snapshot, tags);
    // The new manifest first, then the old one goes: interrupted in between,
    // both list (the same data, two tag sets) and nothing is lost.
    const id = await this.#store.putManifest(manifest.bytes);
    await this.#catalog.forget(snapshot.id);
    return decodeManifest(id, manifest.bytes);
  }

  async chunkSizes(ids: Iterable<string>): Promise<Map<string, ChunkSize>> {
    const sizes = new Map<string, ChunkSize>();
    const unindexed = new Set<string>();
    if (this.config.version >= 2) {
      const { index, damaged } = await this.#store.loadIndex({ refresh: true });
      for (const damage of damaged) this.#warn(damage);
      for (const id of ids) {
        const location = index.lookup(id);
        if (location) sizes.set(id, { stored: location.length, plain: location.plainLength });
        else unindexed.add(id);
      }
    } else {
      for (const id of ids) unindexed.add(id);
    }
    if (unindexed.size === 0) return sizes;
    // Format 1 (or part-way through `migrate`): a chunk is an object named by its id;
    // its plaintext length is only inside the envelope.
    for await (const info of this.#backend.list(DATA_PREFIX)) {
      const id = info.key.slice(info.key.lastIndexOf("/") + 1);
      if (unindexed.has(id) && !sizes.has(id)) sizes.set(id, { stored: info.size, plain: null });
    }
    return sizes;
  }

  walArchive(source: string, systemId: string): WalArchive {
    return new WalArchive(this.#store, source, systemId);
  }

  async listWalClusters(source: string): Promise<string[]> {
    const folder = `${WAL_PREFIX}${source}/`;
    const ids = new Set<string>();
    for await (const key of listKeys(this.#backend, folder)) {
      const id = key.slice(folder.length).split("/")[0];
      if (id && /^\d+$/.test(id)) ids.add(id);
    }
    return [...ids];
  }

  async walArchiveSummary(source: string): Promise<WalArchiveSummary> {
    let files = 0;
    let newest: { name: string; modifiedMs: number | undefined } | undefined;
    for await (const info of this.#backend.list(`${WAL_PREFIX}${source}/`)) {
      const name = info.key.slice(info.key.lastIndexOf("/") + 1);
      if (name.startsWith(".")) continue; // a put's temporary file
      files++;
      // Segment names sort by timeline and position; .history/.backup files name the same.
      if (!newest || name > newest.name) newest = { name, modifiedMs: info.modifiedMs };
    }
    return {
      files,
      newest: newest?.name ?? null,
      newestAt: newest?.modifiedMs !== undefined ? new Date(newest.modifiedMs) : null,
    };
  }

  async dataBytes(): Promise<number> {
    let bytes = 0;
    for await (const info of this.#backend.list(DATA_PREFIX)) if (isDataKey(info.key)) bytes += info.size;
    return bytes;
  }

  async saveDrillReport(report: { readonly id: string }): Promise<void> {
    await this.#store.putDocument("drills", report.id, Buffer.from(JSON.stringify(report)));
  }

  async listDrillReports(): Promise<unknown[]> {
    return this.#documentCatalog.read("drill report", await this.#documentKeys("drills/"));
  }

  async saveRunRecord(record: { readonly id: string }): Promise<void> {
    await this.#store.putDocument("runs", record.id, Buffer.from(JSON.stringify(record)));
  }

  async listRunRecordIds(): Promise<string[]> {
    return (await this.#documentKeys("runs/")).map((key) => key.slice("runs/".length));
  }

  async readRunRecords(ids: readonly string[]): Promise<unknown[]> {
    return this.#documentCatalog.read(
      "run record",
      ids.map((id) => `runs/${id}`),
    );
  }

  async saveBundle(bundle: { readonly id: string }): Promise<void> {
    await this.#store.putDocument("bundles", bundle.id, Buffer.from(JSON.stringify(bundle)));
  }

  async listBundles(): Promise<unknown[]> {
    return this.#documentCatalog.read("bundle", await this.#documentKeys("bundles/"));
  }

  /** The keys under a document folder, in id order (ids start with a time). */
  async #documentKeys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of listKeys(this.#backend, prefix)) keys.push(key);
    return keys.sort();
  }

  async newSnapshotWriter(): Promise<SnapshotWriter> {
    this.#store.warmUp(); // workers load while the index is read (data/ listed, in format 1)
    return new RepositorySnapshotWriter(this.#store, this.#chunker, await this.#chunkDestination());
  }

  async #chunkDestination(): Promise<ChunkDestination> {
    if (this.config.version < 2)
      return new ObjectDestination(this.#store, await listStoredChunks(this.#store));
    // Re-read the index: other hosts may have stored chunks since it was loaded.
    const { index, damaged } = await this.#store.loadIndex({ refresh: true });
    for (const damage of damaged) this.#warn(damage); // its chunks look new and are stored again: harmless
    return new PackDestination(this.#store, index, this.#packSize());
  }

  async locateChunk(id: string): Promise<ChunkPlace | undefined> {
    if (this.config.version >= 2) {
      const location = (await this.#store.loadIndex({ refresh: true })).index.lookup(id);
      if (location) return { key: packKey(location.pack), offset: location.offset, length: location.length };
    }
    const info = await this.#backend.stat(chunkKey(id));
    return info ? { key: info.key, offset: 0, length: info.size } : undefined;
  }

  openArtifacts(snapshot: Snapshot): ArtifactSource {
    this.#store.warmUp();
    return new RepositoryArtifactSource(this.#store, snapshot);
  }

  async check(options: CheckOptions): Promise<CheckReport> {
    const report = await checkRepository(this.#store, options);
    const opening: CheckProblem[] = [];
    const { config, keys } = this.damage;
    if (config)
      opening.push({
        code: "REPOSITORY_CONFIG_DAMAGED",
        object: config.object,
        message: config.message,
        snapshots: [],
      });
    for (const key of keys)
      opening.push({ code: "KEY_DAMAGED", object: key.object, message: key.message, snapshots: [] });
    if (opening.length === 0) return report;
    const problems = [...opening, ...report.problems].sort((a, b) => a.object.localeCompare(b.object));
    return { ...report, problems };
  }

  pruneCandidates(referenced: ReadonlyMap<string, readonly string[]>): Promise<PruneCandidate[]> {
    return pruneCandidates(this.#store, referenced);
  }

  applyPrune(work: PruneWork, options: { signal?: AbortSignal } = {}): Promise<PruneOutcome> {
    return applyPruneWork(this.#store, work, { ...options, packSize: this.#packSize() });
  }

  #packSize(): number {
    return this.config.packSize ?? DEFAULT_PACK_SIZE;
  }

  lock(kind: LockKind, command: string, options: LockRequestOptions = {}): Promise<Lock> {
    return acquireLock(this.#backend, kind, command, options);
  }

  listLocks(): Promise<LockInfo[]> {
    return listLocks(this.#backend);
  }

  async listKeys(): Promise<KeyInfo[]> {
    const { keys } = await listKeyFiles(this.#backend, this.config.id);
    return keys.map((key) => this.#infoOf(key));
  }

  async addKey(newPassword: string): Promise<KeyInfo> {
    if (this.config.encryption === "none") {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `the repository at ${this.location} is unencrypted; it has no passwords`,
        {
          hint: "Create a new repository with a password to have an encrypted one.",
        },
      );
    }
    // New keys cost what the current one costs: a repository made with cheap
    // test parameters stays cheap, one made with strong parameters stays strong.
    const kdf = this.#key.file.kdf;
    const params = kdf.algorithm === "scrypt" ? { N: kdf.N, r: kdf.r, p: kdf.p } : DEFAULT_SCRYPT;
    const key = await createKeyFile(this.#backend, {
      repositoryId: this.config.id,
      master: this.#master,
      password: newPassword,
      params,
      configBytes: this.#configBytes,
    });
    return this.#infoOf(key);
  }

  async removeKey(id: string): Promise<void> {
    const { keys, damaged } = await listKeyFiles(this.#backend, this.config.id);
    const key = keys.find((candidate) => candidate.id === id);
    // A damaged key file opens nothing: removing it can never lock anyone out.
    const broken = damaged.some((candidate) => candidate.id === id);
    if (!key && !broken) {
      throw new LifeboatError("KEY_NOT_FOUND", `no key ${id} in the repository at ${this.location}`, {
        details: { id },
      });
    }
    if (key && keys.length === 1) {
      throw new LifeboatError(
        "LAST_KEY",
        `key ${id} is the repository's last key; removing it would lock everyone out`,
        {
          details: { id },
        },
      );
    }
    if (id === this.#key.id) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `key ${id} is the one this process opened the repository with`,
        {
          details: { id },
          hint: "Open the repository with another key's password to remove this one; that proves the other password works.",
        },
      );
    }
    await this.#backend.delete(KEYS_PREFIX + id);
  }

  async migrate(
    options: {
      dryRun?: boolean;
      signal?: AbortSignal;
      onProgress?: (done: number, total: number) => void;
    } = {},
  ): Promise<MigrationResult> {
    const dryRun = !!options.dryRun;
    if (this.config.version >= 2) {
      // Killed between the key files' config copies and config: finish that write too.
      if (!dryRun && this.damage.config) await this.repairConfig();
      return finishMigration(this.#store, dryRun);
    }
    return migrateToPacks({
      backend: this.#backend,
      store: this.#store,
      master: this.#master,
      config: this.config,
      packSize: this.#packSize(),
      dryRun,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  }

  async repairIndex(options: { dryRun?: boolean; signal?: AbortSignal } = {}): Promise<IndexRepair> {
    if (this.config.version < 2) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `the repository at ${this.location} is format ${this.config.version}: it has no index to repair`,
        { hint: "Format 1 finds chunks by listing data/. Run `lifeboat migrate` to convert it to format 2." },
      );
    }
    return repairIndex(this.#store, options);
  }

  async repairConfig(): Promise<boolean> {
    if (!this.damage.config) return false;
    // A plain put: the bytes are the authentic config, sealed in the key file the password opened.
    await this.#backend.put(CONFIG_KEY, this.#configBytes);
    return true;
  }

  async close(): Promise<void> {
    await this.#store.close();
    await this.#backend.close();
  }

  #warn(warning: DamagedObject): void {
    if (this.#warned.has(warning.object)) return;
    this.#warned.add(warning.object);
    this.#onWarning?.(warning);
  }

  #infoOf(key: StoredKey): KeyInfo {
    const { created, hostname, username } = key.file;
    return { id: key.id, created, hostname, username, current: key.id === this.#key.id };
  }
}
