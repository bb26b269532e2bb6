// What a snapshot is, independent of how the repository stores it.
// The manifest schema in docs/repository-format.md is the serialised form.

import type { Fingerprint } from "./fingerprint.ts";

/**
 * An engine's name as a manifest records it. Deliberately a plain string: a
 * manifest written by an engine this build lacks must still list; the engines
 * layer (engines/registry.ts) knows which names exist and refuses the others
 * with UNKNOWN_ENGINE.
 */
export type EngineName = string;

/** One named byte stream inside a snapshot (a dump file, a database file, a tar stream). */
export interface ArtifactRef {
  readonly name: string;
  /** Plaintext length in bytes. */
  readonly size: number;
  /** SHA-256 of the whole plaintext stream, hex. */
  readonly sha256: string;
  /** Ordered chunk ids; concatenating their plaintexts yields the artifact. */
  readonly chunks: readonly string[];
}

export interface Snapshot {
  /** Hex SHA-256 of the manifest's bytes: the snapshot is verifiable by its name. */
  readonly id: string;
  readonly source: string;
  readonly engine: EngineName;
  /** When Lifeboat started and finished the capture (this machine's clock), ISO-8601. */
  readonly startedAt: string;
  readonly finishedAt: string;
  /** The consistent point of the data on the source's own clock, ISO-8601. RPO is measured from here. */
  readonly consistentAt: string;
  readonly hostname: string;
  readonly lifeboatVersion: string;
  readonly artifacts: readonly ArtifactRef[];
  /** Engine-specific facts: server version, system identifier, database name, ... */
  readonly engineMeta: Readonly<Record<string, unknown>>;
  readonly fingerprint: Fingerprint;
  readonly tags: readonly string[];
  /**
   * Set when the tags were changed (`lifeboat tag`): the id of the snapshot's
   * first manifest, kept across every later change, so records that name the
   * first id (a bundle's members) still find it. Absent on a manifest as backup wrote it.
   */
  readonly original?: string;
}

/** The manifest fields an engine run produces; the repository adds id, artifacts and bookkeeping. */
export type SnapshotDraft = Omit<Snapshot, "id" | "artifacts">;

export function shortId(id: string): string {
  return id.slice(0, 8);
}

export function totalSize(snapshot: Pick<Snapshot, "artifacts">): number {
  return snapshot.artifacts.reduce((sum, artifact) => sum + artifact.size, 0);
}
