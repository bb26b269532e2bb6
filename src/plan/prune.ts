// Prune planning (repository format 1: one object per chunk under data/).
// Pure: given the chunk ids every readable manifest references, the listing
// of data/ and a grace period, decide which objects go. --dry-run prints this
// plan and the real run deletes exactly its `remove` list, so the two cannot
// disagree (the same split as forget: plan, then apply).
//
// The grace period: an unreferenced object written less than `graceMs` ago
// is kept. It may belong to a backup that has written its chunks but not yet
// its manifest (chunks first, manifest last) and whose lock this prune did not
// see: a store without list-after-write consistency, a clock-skewed stale
// lock. An object whose store reports no write time cannot be judged: it is
// kept unless the grace period is zero (the user said "no grace").

import type { ObjectInfo } from "../storage/backend.ts";

export interface PruneInput {
  /** Chunk ids referenced by every manifest (all readable: the caller refuses on damage). */
  readonly referenced: ReadonlySet<string>;
  /** The listing of data/. */
  readonly objects: readonly ObjectInfo[];
  readonly graceMs: number;
  readonly now: Date;
}

export interface PruneObject {
  readonly key: string;
  readonly size: number;
}

export interface PrunePlan {
  /** Unreferenced objects older than the grace period: what a real run deletes, in this order. */
  readonly remove: readonly PruneObject[];
  readonly removeBytes: number;
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
  const remove: PruneObject[] = [];
  let referenced = 0;
  let referencedBytes = 0;
  let young = 0;
  let youngBytes = 0;
  for (const object of input.objects) {
    const id = object.key.slice(object.key.lastIndexOf("/") + 1);
    if (input.referenced.has(id)) {
      referenced++;
      referencedBytes += object.size;
    } else if (input.graceMs > 0 && (object.modifiedMs === undefined || object.modifiedMs > cutoff)) {
      young++;
      youngBytes += object.size;
    } else {
      remove.push({ key: object.key, size: object.size });
    }
  }
  remove.sort((a, b) => a.key.localeCompare(b.key));
  const removeBytes = remove.reduce((sum, object) => sum + object.size, 0);
  return { remove, removeBytes, kept: { referenced, referencedBytes, young, youngBytes } };
}
