// `lifeboat stats`: what the snapshots hold and what they cost. The logical
// size is what a restore writes (the artifacts' plaintext); the stored size
// is what the repository keeps for them: each chunk they reference counted
// once, as stored (compressed, then encrypted). Their quotients are the
// deduplication ratio (logical / unique plaintext) and the compression ratio
// (unique plaintext / stored). Sizes come from the index, never from reading
// data; a figure the repository does not record (a format 1 chunk's
// plaintext length) or cannot give (a chunk it no longer has) is null, never
// a guess. summarize() is pure; repositoryStats() gathers its input.

import { totalSize, type Snapshot } from "../domain/snapshot.ts";
import type { ChunkSize, DamagedSnapshot } from "../repository/types.ts";
import type { OperationContext } from "./context.ts";

export interface SizeTotals {
  readonly snapshots: number;
  /** Sum of the artifacts' plaintext sizes of every snapshot. */
  readonly logicalBytes: number;
  /** Distinct chunks the snapshots reference. */
  readonly uniqueChunks: number;
  /** Their plaintext, each counted once; null when a chunk's plaintext length is unknown. */
  readonly uniquePlainBytes: number | null;
  /** Their stored envelopes, each counted once; null when a chunk is missing from the repository. */
  readonly storedBytes: number | null;
  /** logicalBytes / uniquePlainBytes. */
  readonly deduplicationRatio: number | null;
  /** uniquePlainBytes / storedBytes. */
  readonly compressionRatio: number | null;
  /** Referenced chunks the repository has no size for: they are missing (`lifeboat check` names them). */
  readonly missingChunks: number;
}

/** One snapshot of a source against the one before it of the same source. */
export interface GrowthStep {
  readonly id: string;
  readonly consistentAt: string;
  readonly logicalBytes: number;
  /** The snapshot before it of this source; null for the source's first one (everything in it is new). */
  readonly previous: string | null;
  /** Chunks it references that the previous snapshot does not. */
  readonly newChunks: number;
  readonly newPlainBytes: number | null;
  readonly newStoredBytes: number | null;
}

export interface SourceStats extends SizeTotals {
  readonly source: string;
  /** The last snapshots of the source, oldest first. */
  readonly growth: readonly GrowthStep[];
}

export interface StatsSummary {
  readonly sources: readonly SourceStats[];
  /** Every selected snapshot together: chunks shared between sources counted once. */
  readonly total: SizeTotals;
  /** False when some chunk's plaintext length is not recorded (format 1): the plaintext figures are null. */
  readonly plainSizesKnown: boolean;
}

export interface RepositoryStats extends StatsSummary {
  readonly format: number;
  /** Bytes under data/ (packs or chunk objects), from a listing: includes data no snapshot references until a prune. */
  readonly dataBytes: number;
  readonly damaged: readonly DamagedSnapshot[];
}

const chunksOf = (snapshot: Snapshot): Set<string> =>
  new Set(snapshot.artifacts.flatMap((artifact) => artifact.chunks));

function sumOf(
  ids: Iterable<string>,
  sizes: ReadonlyMap<string, ChunkSize>,
): { count: number; plain: number | null; stored: number | null; missing: number } {
  let count = 0;
  let plain: number | null = 0;
  let stored = 0;
  let missing = 0;
  for (const id of ids) {
    count++;
    const size = sizes.get(id);
    if (!size) {
      missing++;
      continue;
    }
    stored += size.stored;
    plain = plain === null || size.plain === null ? null : plain + size.plain;
  }
  return { count, plain: missing > 0 ? null : plain, stored: missing > 0 ? null : stored, missing };
}

const ratio = (numerator: number | null, denominator: number | null): number | null =>
  numerator === null || denominator === null || denominator === 0 ? null : numerator / denominator;

function totalsOf(snapshots: readonly Snapshot[], sizes: ReadonlyMap<string, ChunkSize>): SizeTotals {
  const unique = new Set<string>();
  for (const snapshot of snapshots) for (const id of chunksOf(snapshot)) unique.add(id);
  const sum = sumOf(unique, sizes);
  const logicalBytes = snapshots.reduce((bytes, snapshot) => bytes + totalSize(snapshot), 0);
  return {
    snapshots: snapshots.length,
    logicalBytes,
    uniqueChunks: sum.count,
    uniquePlainBytes: sum.plain,
    storedBytes: sum.stored,
    deduplicationRatio: ratio(logicalBytes, sum.plain),
    compressionRatio: ratio(sum.plain, sum.stored),
    missingChunks: sum.missing,
  };
}

function growthOf(
  snapshots: readonly Snapshot[],
  sizes: ReadonlyMap<string, ChunkSize>,
  last: number,
): GrowthStep[] {
  const from = Math.max(0, snapshots.length - last);
  return snapshots.slice(from).map((snapshot, offset) => {
    const previous = snapshots[from + offset - 1];
    const before = previous ? chunksOf(previous) : new Set<string>();
    const added = [...chunksOf(snapshot)].filter((id) => !before.has(id));
    const sum = sumOf(added, sizes);
    return {
      id: snapshot.id,
      consistentAt: snapshot.consistentAt,
      logicalBytes: totalSize(snapshot),
      previous: previous?.id ?? null,
      newChunks: sum.count,
      newPlainBytes: sum.plain,
      newStoredBytes: sum.stored,
    };
  });
}

/**
 * The figures of `snapshots` (oldest first, as a listing gives them), per
 * source (those in `sources` first, in that order, even without snapshots;
 * then any other, by name) and in total; growth over the `last` snapshots of each.
 */
export function summarize(
  snapshots: readonly Snapshot[],
  sizes: ReadonlyMap<string, ChunkSize>,
  options: { readonly sources?: readonly string[]; readonly last: number },
): StatsSummary {
  const bySource = new Map<string, Snapshot[]>();
  for (const name of options.sources ?? []) bySource.set(name, []);
  for (const snapshot of [...snapshots].sort((a, b) => a.source.localeCompare(b.source))) {
    if (!bySource.has(snapshot.source)) bySource.set(snapshot.source, []);
  }
  for (const snapshot of snapshots) bySource.get(snapshot.source)!.push(snapshot);
  const plainSizesKnown = snapshots.every((snapshot) =>
    snapshot.artifacts.every((artifact) => artifact.chunks.every((id) => sizes.get(id)?.plain !== null)),
  );
  return {
    sources: [...bySource].map(([source, own]) => ({
      source,
      ...totalsOf(own, sizes),
      growth: growthOf(own, sizes, options.last),
    })),
    total: totalsOf(snapshots, sizes),
    plainSizesKnown,
  };
}

/** Read-only: the snapshot listing, the index (or, in format 1, a listing of data/) and a listing of data/. */
export async function repositoryStats(
  context: OperationContext,
  sources: readonly string[],
  last: number,
): Promise<RepositoryStats> {
  const { repository } = context;
  const listing = await repository.listSnapshotsWithDamage();
  const snapshots = listing.snapshots.filter(
    (snapshot) => sources.length === 0 || sources.includes(snapshot.source),
  );
  const ids = new Set<string>();
  for (const snapshot of snapshots) for (const id of chunksOf(snapshot)) ids.add(id);
  const sizes = await repository.chunkSizes(ids);
  context.signal?.throwIfAborted();
  return {
    format: repository.config.version,
    ...summarize(snapshots, sizes, { sources, last }),
    dataBytes: await repository.dataBytes(),
    damaged: listing.damaged,
  };
}
