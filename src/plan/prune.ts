// Prune planning. Pure: given the chunk ids every readable manifest
// references, the objects under data/ (format 1 chunk objects, or format 2
// packs with the chunks the index records in each) and a grace period,
// decide which objects go whole and which packs are repacked. --dry-run
// prints this plan and the real run does exactly it, so the two cannot
// disagree (the same split as forget: plan, then apply).
//
// A pack none of whose chunks is referenced is deleted; a pack whose
// unreferenced share of bytes exceeds the repack threshold has its used
// chunks copied into new packs and is then deleted (restic's
// --max-unused is the model); below the threshold it is left alone, since
// repacking costs a read and a write of what it keeps.
//
// The grace period: an unreferenced object written less than `graceMs` ago
// is kept. It may belong to a backup that has written its chunks but not yet
// its manifest (chunks first, manifest last) and whose lock this prune did not
// see: a store without list-after-write consistency, a clock-skewed stale
// lock. An object whose store reports no write time cannot be judged: it is
// kept unless the grace period is zero (the user said "no grace").

import type { PruneCandidate } from "../repository/types.ts";

/** Default share of a pack's bytes that may be unused before prune repacks it. */
export const DEFAULT_REPACK_THRESHOLD = 0.2;

export interface PruneInput {
  /** Chunk ids referenced by every manifest (all readable: the caller refuses on damage). */
  readonly referenced: ReadonlySet<string>;
  /** The objects under data/. */
  readonly objects: readonly PruneCandidate[];
  readonly graceMs: number;
  readonly now: Date;
  /** Repack a pack whose unused share of bytes exceeds this (0..1); default DEFAULT_REPACK_THRESHOLD. */
  readonly repackThreshold?: number;
}

export interface PruneObject {
  readonly key: string;
  readonly size: number;
}

export interface RepackObject extends PruneObject {
  /** The referenced chunks copied into new packs before this pack is deleted. */
  readonly keep: readonly string[];
  readonly keepBytes: number;
}

export interface PrunePlan {
  /** Unreferenced objects older than the grace period: what a real run deletes, in this order. */
  readonly remove: readonly PruneObject[];
  readonly removeBytes: number;
  /** Packs mostly unused: their used chunks are copied into new packs, then they are deleted. */
  readonly repack: readonly RepackObject[];
  /** Bytes repacking frees (the packs' sizes less what they keep). */
  readonly repackFreedBytes: number;
  readonly kept: {
    /** Objects a snapshot references. */
    readonly referenced: number;
    readonly referencedBytes: number;
    /** Unreferenced objects written within the grace period (or at an unknown time). */
    readonly young: number;
    readonly youngBytes: number;
  };
}

export function planPrune(input: PruneInput): PrunePlan {
  const cutoff = input.now.getTime() - input.graceMs;
  const threshold = input.repackThreshold ?? DEFAULT_REPACK_THRESHOLD;
  const remove: PruneObject[] = [];
  const repack: RepackObject[] = [];
  let referenced = 0;
  let referencedBytes = 0;
  let young = 0;
  let youngBytes = 0;
  for (const object of input.objects) {
    const chunks = object.chunks ?? [
      { id: object.key.slice(object.key.lastIndexOf("/") + 1), length: object.size },
    ];
    const used = chunks.filter((chunk) => input.referenced.has(chunk.id));
    const usedBytes = used.reduce((sum, chunk) => sum + chunk.length, 0);
    const isYoung = input.graceMs > 0 && (object.modifiedMs === undefined || object.modifiedMs > cutoff);
    const { key, size } = object;
    if (
      used.length > 0 &&
      (isYoung || (size - usedBytes) / size <= threshold || used.length === chunks.length)
    ) {
      referenced++;
      referencedBytes += size;
    } else if (isYoung) {
      young++;
      youngBytes += size;
    } else if (used.length === 0) {
      remove.push({ key, size });
    } else {
      repack.push({ key, size, keep: used.map((chunk) => chunk.id).sort(), keepBytes: usedBytes });
    }
  }
  remove.sort((a, b) => a.key.localeCompare(b.key));
  repack.sort((a, b) => a.key.localeCompare(b.key));
  const removeBytes = remove.reduce((sum, object) => sum + object.size, 0);
  const repackFreedBytes = repack.reduce((sum, object) => sum + object.size - object.keepBytes, 0);
  return {
    remove,
    removeBytes,
    repack,
    repackFreedBytes,
    kept: { referenced, referencedBytes, young, youngBytes },
  };
}
