// The repository's public surface, used by the CLI, the drill runner and the
// tests. docs/repository-format.md specifies the bytes behind it.

import type { ArtifactSink, ArtifactSource } from "../engines/engine.ts";
import type { Snapshot, SnapshotDraft } from "../domain/snapshot.ts";

export const FORMAT_VERSION = 1;

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
  release(): Promise<void>;
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
  readonly code: "CHECKSUM_MISMATCH" | "OBJECT_MISSING" | "OBJECT_TRUNCATED" | "BAD_MANIFEST";
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
}

export interface CheckReport {
  readonly snapshots: number;
  readonly objectsReferenced: number;
  readonly objectsRead: number;
  /** Objects no snapshot references (left by an interrupted backup); harmless, removed by prune. */
  readonly unreferenced: number;
  readonly leftoversRemoved: number;
  readonly problems: readonly CheckProblem[];
}

export interface Repository {
  readonly config: RepositoryConfigFile;
  readonly location: string;
  /** Snapshots whose manifests exist, oldest first. A manifest that cannot be read is an error, never skipped. */
  listSnapshots(filter?: { source?: string }): Promise<Snapshot[]>;
  /** By full id, unique id prefix, or "latest" (newest for the source). */
  findSnapshot(selector: string, source?: string): Promise<Snapshot>;
  newSnapshotWriter(): Promise<SnapshotWriter>;
  /** Verified access to a snapshot's artifacts. */
  openArtifacts(snapshot: Snapshot): ArtifactSource;
  check(options: CheckOptions): Promise<CheckReport>;
  /** Keep a drill report (JSON with a unique string `id`) in the repository, sealed like everything else. */
  saveDrillReport(report: { readonly id: string }): Promise<void>;
  /** Every stored drill report, in id order (ids start with the drill's start time). */
  listDrillReports(): Promise<unknown[]>;
  lock(kind: LockKind, command: string): Promise<Lock>;
  listLocks(): Promise<LockInfo[]>;
  listKeys(): Promise<KeyInfo[]>;
  addKey(newPassword: string): Promise<KeyInfo>;
  removeKey(id: string): Promise<void>;
  close(): Promise<void>;
}
