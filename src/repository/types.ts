// The repository's public surface, used by the CLI, the drill runner and the
// tests. docs/repository-format.md specifies the bytes behind it.

import type { ArtifactSink, ArtifactSource } from "../domain/artifacts.ts";
import type { Snapshot, SnapshotDraft } from "../domain/snapshot.ts";
import type { ErrorCode } from "../errors.ts";
import type { ObjectInfo } from "../storage/backend.ts";
import type { WalArchive } from "./wal-archive.ts";

/** The newest format this Lifeboat reads and the one it creates (docs/repository-format.md). */
export const FORMAT_VERSION = 2;

export interface RepositoryConfigFile {
  readonly version: number;
  /** Random 32-byte hex id of this repository. */
  readonly id: string;
  readonly created: string;
  readonly encryption: "aes-256-gcm" | "none";
  readonly chunker: {
    readonly algorithm: "fastcdc";
    readonly min: number;
    readonly avg: number;
    readonly max: number;
  };
  readonly compression: "zstd";
  /** Format 2: the target size of a pack in bytes (absent: the default). */
  readonly packSize?: number;
}

export interface KeyInfo {
  readonly id: string;
  readonly created: string;
  readonly hostname: string;
  readonly username: string;
  /** True for the key the current process opened the repository with. */
  readonly current: boolean;
}

export type LockKind = "shared" | "exclusive";

export interface LockInfo {
  readonly id: string;
  readonly kind: LockKind;
  readonly hostname: string;
  readonly pid: number;
  readonly command: string;
  readonly created: string;
  readonly refreshed: string;
}

export interface Lock {
  readonly info: LockInfo;
  /**
   * Aborted, with a LOCK_LOST error as its reason, when the lease is lost:
   * the lock object was removed by someone else, or refreshing it failed for
   * so long that others may judge it stale. An operation holding the lock
   * must stop then: a prune may be deleting what it reads or references.
   */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

export interface LockRequestOptions {
  /** Lease timing; tests shorten it. */
  readonly staleAfterMs?: number;
  readonly refreshEveryMs?: number;
  /** Keep retrying a refused lock this long (`--retry-lock`); absent or 0 fails with LOCKED at once. */
  readonly retryForMs?: number;
  /** Ends a `retryForMs` wait at once with the signal's reason (Ctrl-C, SIGTERM). */
  readonly signal?: AbortSignal;
  /** Told once, naming the holder, when the wait starts. */
  readonly onWait?: (message: string) => void;
}

/** An object that could not be read, reported instead of failing everything that does not need it. */
export interface DamagedObject {
  readonly code: ErrorCode;
  /** Storage key of the object at fault: snapshots/<id>, keys/<id>, config. */
  readonly object: string;
  readonly message: string;
}

export interface DamagedSnapshot extends DamagedObject {
  /** The snapshot id its name gives; its content (source, times) is unknown. */
  readonly id: string;
}

export interface SnapshotListing {
  /** Readable snapshots, oldest first. */
  readonly snapshots: Snapshot[];
  /** Manifests that exist but cannot be read, authenticated or parsed; never filtered by source (it is unknown). */
  readonly damaged: DamagedSnapshot[];
}

/** Damage found while opening the repository that did not stop it from opening. */
export interface OpeningDamage {
  /** `config` was damaged (or differs from its sealed copy) and the repository opened with the copy from a key file. */
  readonly config?: DamagedObject & { readonly recoveredFrom: string };
  /** Key files that fail their checksum or do not parse; another key opened the repository. */
  readonly keys: readonly DamagedObject[];
}

export interface OpenOptions {
  /**
   * Folder of local caches (a subfolder per repository id) for immutable
   * objects: index/, snapshots/, drills/. Absent: no cache, every read goes
   * to storage.
   */
  readonly cacheDir?: string;
  /** Told once when the cache cannot be written and is bypassed. */
  readonly onCacheProblem?: (message: string) => void;
  /**
   * Told about damage a result does not show: a damaged manifest skipped by
   * listSnapshots()/findSnapshot(), a damaged key file or config found while
   * opening. Each object is reported once per opened repository.
   */
  readonly onWarning?: (warning: DamagedObject) => void;
}

export interface PackedChunk {
  readonly id: string;
  /** Bytes of its envelope in the pack. */
  readonly length: number;
}

export interface PruneCandidate extends ObjectInfo {
  /**
   * The chunks the index records in this pack (format 2). Absent: a format 1
   * chunk object, which holds the one chunk its name gives. Empty: an object
   * that holds nothing needed (a pack no index names, a format 1 object whose
   * chunk a pack holds too).
   */
  readonly chunks?: readonly PackedChunk[];
}

/** What a prune does: objects deleted whole, and packs whose kept chunks are copied before they are deleted. */
export interface PruneWork {
  readonly remove: readonly { readonly key: string; readonly size: number }[];
  readonly repack: readonly {
    readonly key: string;
    readonly size: number;
    readonly keep: readonly string[];
  }[];
}

export interface PruneOutcome {
  /** Objects deleted (removed and repacked ones). */
  readonly deleted: number;
  readonly deletedBytes: number;
  /** New packs written by repacking. */
  readonly packsWritten: number;
}

export interface MigrationResult {
  readonly from: number;
  readonly to: number;
  readonly dryRun: boolean;
  /** Chunk objects converted (or, on a format 2 repository, leftover ones removed). */
  readonly chunks: number;
  readonly packs: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** Chunk objects deleted once their packs were committed. */
  readonly deleted: number;
}

export interface IndexRepair {
  readonly dryRun: boolean;
  /** Packs whose header was read and indexed. */
  readonly packs: number;
  readonly chunks: number;
  /** Index objects the new ones superseded (and deleted). */
  readonly indexObjectsReplaced: number;
  /** Format 1 chunk objects found (read by name, never indexed). */
  readonly formatOneObjects: number;
  /** Objects under data/ whose pack header cannot be read: left alone, their chunks unindexed. */
  readonly unreadable: readonly DamagedObject[];
}

export interface ChunkSize {
  /** Bytes of its envelope as stored (compressed, then encrypted). */
  readonly stored: number;
  /** Its plaintext length; null where the repository does not record it (format 1 objects). */
  readonly plain: number | null;
}

export interface ChunkPlace {
  readonly key: string;
  readonly offset: number;
  readonly length: number;
}

export interface WriteStats {
  /** Plaintext bytes read from the source. */
  readonly bytesRead: number;
  /** Bytes of new objects written to storage (after dedup, compression and encryption). */
  readonly bytesStored: number;
  readonly chunksTotal: number;
  readonly chunksNew: number;
}

/** Collects artifacts for one snapshot; nothing is visible until commit() writes the manifest. */
export interface SnapshotWriter extends ArtifactSink {
  readonly stats: WriteStats;
  /** Write the manifest atomically: the commit point. Returns the stored snapshot. */
  commit(draft: SnapshotDraft): Promise<Snapshot>;
}

export interface CheckProblem {
  readonly code:
    | "CHECKSUM_MISMATCH"
    | "OBJECT_MISSING"
    | "OBJECT_TRUNCATED"
    | "BAD_MANIFEST"
    | "KEY_DAMAGED"
    | "REPOSITORY_CONFIG_DAMAGED"
    | "WAL_GAP";
  /** Storage key of the object at fault, e.g. data/ab/ab12... or snapshots/ff00... */
  readonly object: string;
  readonly message: string;
  /** Snapshots affected by the problem. */
  readonly snapshots: readonly string[];
}

export interface CheckOptions {
  /** Read, decrypt and re-hash this share of the data objects (0..100). 0: structure only. */
  readonly readDataPercent: number;
  readonly onProgress?: (done: number, total: number) => void;
  /** Remove temp files of interrupted writes (default true); false on a read-only repository, which only counts them. */
  readonly removeLeftovers?: boolean;
  /** Stops the check between object reads (Ctrl-C, a lost lock). */
  readonly signal?: AbortSignal;
}

export interface CheckReport {
  readonly snapshots: number;
  readonly objectsReferenced: number;
  readonly objectsRead: number;
  /** Objects no snapshot references (left by an interrupted backup); harmless (a future prune removes them). */
  readonly unreferenced: number;
  /** Temp files of interrupted writes older than LEFTOVER_AGE_MS that were removed. */
  readonly leftoversRemoved: number;
  /** Such temp files found but not removed (removeLeftovers: false). */
  readonly leftoversKept: number;
  readonly problems: readonly CheckProblem[];
}

export interface Repository {
  readonly config: RepositoryConfigFile;
  readonly location: string;
  /** Damage found while opening (a config recovered from its copy, damaged key files). */
  readonly damage: OpeningDamage;
  /**
   * Readable snapshots, oldest first. A damaged manifest affects only its own
   * snapshot: it is left out and reported through OpenOptions.onWarning, never
   * skipped silently (listSnapshotsWithDamage() returns it instead).
   */
  listSnapshots(filter?: { source?: string }): Promise<Snapshot[]>;
  /** Readable snapshots and the damaged manifests beside them. Storage failures still throw. */
  listSnapshotsWithDamage(filter?: { source?: string }): Promise<SnapshotListing>;
  /**
   * By full id, unique id prefix, or "latest" (newest readable one for the
   * source; a damaged manifest, which might have been newer, is reported
   * through onWarning). Damaged manifests take part in prefix matching by
   * their id: selecting one fails with its damage error, naming it.
   */
  findSnapshot(selector: string, source?: string): Promise<Snapshot>;
  newSnapshotWriter(): Promise<SnapshotWriter>;
  /**
   * Delete a snapshot's manifest (`forget`): the snapshot stops existing, the
   * data it referenced stays (a prune removes unreferenced data). The caller
   * holds the exclusive lock. Deleting a manifest that is already gone is not an error.
   */
  forgetSnapshot(id: string): Promise<void>;
  /**
   * Change a snapshot's tags (`lifeboat tag`). A manifest is immutable and
   * named by its hash, so this writes a new manifest with the same contents,
   * these tags and `original` (the first manifest's id, kept from the
   * snapshot when it has one), then deletes the old one; returns the new
   * snapshot. Tags equal to the current ones write nothing and return the
   * snapshot as it is. The caller holds the exclusive lock.
   */
  replaceSnapshotTags(snapshot: Snapshot, tags: readonly string[]): Promise<Snapshot>;
  /**
   * The stored and plaintext sizes of these chunks (`lifeboat stats`), from
   * the index; chunks it does not name are looked for as format 1 objects in
   * one listing of data/ (their plaintext size is unknown: null). A chunk
   * found nowhere is absent from the map.
   */
  chunkSizes(ids: Iterable<string>): Promise<Map<string, ChunkSize>>;
  /**
   * Where a chunk's envelope is stored: its object and byte range (a whole
   * object in format 1, a range of a pack in format 2); undefined when
   * nothing stores it. For damage tests and debugging.
   */
  locateChunk(id: string): Promise<ChunkPlace | undefined>;
  /** Verified access to a snapshot's artifacts. */
  openArtifacts(snapshot: Snapshot): ArtifactSource;
  check(options: CheckOptions): Promise<CheckReport>;
  /**
   * Every object under data/ with its size, write time (where the store
   * reports one) and, in format 2, the chunks the index records in it:
   * prune's input. `referenced`: chunk id -> the snapshots referencing it.
   * Refuses with PRUNE_INDEX_DAMAGED when an index object cannot be read or
   * a referenced chunk is in no indexed pack.
   */
  pruneCandidates(referenced: ReadonlyMap<string, readonly string[]>): Promise<PruneCandidate[]>;
  /**
   * Carry out a prune plan: repack, rewrite the index, delete (the caller
   * holds the exclusive lock). Refuses any key outside data/.
   */
  applyPrune(work: PruneWork, options?: { signal?: AbortSignal }): Promise<PruneOutcome>;
  /** The WAL archive of one PostgreSQL cluster of a source (wal-archive.ts). */
  walArchive(source: string, systemId: string): WalArchive;
  /** The system identifiers a source has archived WAL for. */
  listWalClusters(source: string): Promise<string[]>;
  /** How many WAL files a source has archived (all clusters) and the newest, with when it arrived: a listing only. */
  walArchiveSummary(source: string): Promise<WalArchiveSummary>;
  /** Bytes stored under data/ (packs or chunks), from a listing. */
  dataBytes(): Promise<number>;
  /** Keep a drill report (JSON with a unique string `id`) in the repository, sealed like everything else. */
  saveDrillReport(report: { readonly id: string }): Promise<void>;
  /** Every stored drill report, in id order (ids start with the drill's start time). */
  listDrillReports(): Promise<unknown[]>;
  /** Keep a run record (JSON with a unique string `id`), sealed like a drill report. */
  /** Record a bundle (backup --group): bundles/<id>, written once all its member snapshots exist. */
  saveBundle(bundle: { readonly id: string }): Promise<void>;
  /** Every bundle record, oldest first (unreadable ones are skipped with a warning). */
  listBundles(): Promise<unknown[]>;
  saveRunRecord(record: { readonly id: string }): Promise<void>;

  /** The ids of every stored run record, in id order (oldest first): listing only, nothing is read. */
  listRunRecordIds(): Promise<string[]>;
  /** The run records of these ids, in the same order. */
  readRunRecords(ids: readonly string[]): Promise<unknown[]>;
  lock(kind: LockKind, command: string, options?: LockRequestOptions): Promise<Lock>;
  listLocks(): Promise<LockInfo[]>;
  listKeys(): Promise<KeyInfo[]>;
  addKey(newPassword: string): Promise<KeyInfo>;
  removeKey(id: string): Promise<void>;
  /**
   * Convert a format 1 repository to format 2 in place (the caller holds the
   * exclusive lock); on a format 2 one, remove the chunk objects an
   * interrupted migration left. Close the repository afterwards: this
   * object still has the format it was opened with.
   */
  migrate(options?: {
    dryRun?: boolean;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
  }): Promise<MigrationResult>;
  /** Rebuild the format 2 index from the packs' headers (exclusive lock). */
  repairIndex(options?: { dryRun?: boolean; signal?: AbortSignal }): Promise<IndexRepair>;
  /**
   * Rewrite `config` from the authentic copy the repository was opened with
   * (damage.config); false when `config` is intact and nothing was written.
   */
  repairConfig(): Promise<boolean>;
  close(): Promise<void>;
}

export interface WalArchiveSummary {
  readonly files: number;
  /** The newest file's name; null when none is archived. */
  readonly newest: string | null;
  /** When it was stored (the storage's modification time); null when unknown. */
  readonly newestAt: Date | null;
}
