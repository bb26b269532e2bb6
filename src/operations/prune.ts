// Prune: delete the data no snapshot references (both formats; format 2
// also repacks mostly-unused packs). planPrune() decides, applyPrune()
// does exactly what the plan names (repository/prune-work.ts).
//
// Safety rules:
// - The caller holds the exclusive lock for planning and applying: no backup
//   (shared lock) writes chunks whose manifest is not yet visible.
// - data/ is listed before the manifests are read: an object listed was
//   written before any manifest this plan read, so a manifest that references
//   it is in the plan's referenced set.
// - Any damaged or unreadable manifest refuses the prune: it may reference
//   chunks that would otherwise look unreferenced (restic refuses too).
// - Only keys under data/ are deleted (the repository refuses anything else);
//   manifests, keys, config, locks and drill reports are never touched.
// - Each deletion is atomic and only ever removes unreferenced objects, so an
//   interrupted prune leaves a consistent repository; running it again
//   finishes the job.

import { LifeboatError } from "../errors.ts";
import { planPrune } from "../plan/prune.ts";
import type { PrunePlan } from "../plan/prune.ts";
import { chunkReferences } from "../repository/references.ts";
import type { PruneOutcome } from "../repository/types.ts";
import type { OperationContext } from "./context.ts";

/**
 * Plan under the caller's lock. `forgotten`: snapshots to treat as gone
 * (`forget --dry-run --prune` shows the prune that follows its forget).
 */
export async function preparePrune(
  context: OperationContext,
  graceMs: number,
  forgotten: ReadonlySet<string> = new Set(),
  repackThreshold?: number,
): Promise<PrunePlan> {
  const now = context.now();
  const listing = await context.repository.listSnapshotsWithDamage();
  const { damaged } = listing;
  const snapshots = listing.snapshots.filter(({ id }) => !forgotten.has(id));
  if (damaged.length > 0) {
    const named = damaged.map((damage) => damage.object).join(", ");
    throw new LifeboatError(
      "PRUNE_DAMAGED_MANIFEST",
      `prune refused: ${named} cannot be read (${damaged[0]!.message}); it may reference data, so nothing was deleted`,
      { details: { damaged: damaged.map(({ id, object, code }) => ({ id, object, code })) } },
    );
  }
  const references = chunkReferences(snapshots);
  const objects = await context.repository.pruneCandidates(references);
  const referenced = new Set(references.keys());
  return planPrune({
    referenced,
    objects,
    graceMs,
    now,
    ...(repackThreshold === undefined ? {} : { repackThreshold }),
  });
}

export type PruneResult = PruneOutcome;

/** Carry out the plan: repack, rewrite the index, delete; an abort (Ctrl-C, a lost lock) stops before the next step. */
export function applyPrune(context: OperationContext, plan: PrunePlan): Promise<PruneResult> {
  return context.repository.applyPrune(plan, context.signal ? { signal: context.signal } : {});
}
