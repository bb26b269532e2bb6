// Prune: delete the data objects no snapshot references (repository format
// 1; format 2 replaces the internals, not these rules). planPrune() decides,
// applyPrune() deletes exactly what the plan names.
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
import type { OperationContext } from "./context.ts";

const PARALLEL_DELETES = 8;
const DELETE_BATCH = 64;

/**
 * Plan under the caller's lock. `forgotten`: snapshots to treat as gone
 * (`forget --dry-run --prune` shows the prune that follows its forget).
 */
export async function preparePrune(
  context: OperationContext,
  graceMs: number,
  forgotten: ReadonlySet<string> = new Set(),
): Promise<PrunePlan> {
  const now = context.now();
  const objects = await context.repository.listDataObjects();
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
  const referenced = new Set(chunkReferences(snapshots).keys());
  return planPrune({ referenced, objects, graceMs, now });
}

export interface PruneResult {
  readonly deleted: number;
  readonly deletedBytes: number;
}

/**
 * Delete the plan's objects in batches, a few at a time; an abort (Ctrl-C,
 * a lost lock) stops before the next deletion starts.
 */
export async function applyPrune(context: OperationContext, plan: PrunePlan): Promise<PruneResult> {
  let deleted = 0;
  let deletedBytes = 0;
  for (let start = 0; start < plan.remove.length; start += DELETE_BATCH) {
    const batch = plan.remove.slice(start, start + DELETE_BATCH);
    let next = 0;
    let failed = false; // one failed deletion stops the other workers too
    const worker = async () => {
      while (next < batch.length && !failed) {
        context.signal?.throwIfAborted();
        const object = batch[next++]!;
        try {
          await context.repository.deleteDataObject(object.key);
        } catch (error) {
          failed = true;
          throw error;
        }
        deleted++;
        deletedBytes += object.size;
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(PARALLEL_DELETES, batch.length) }, worker));
    } catch (error) {
      if (!(error instanceof LifeboatError)) throw error;
      throw new LifeboatError(
        error.code,
        `${error.message} (prune stopped after deleting ${deleted} of ${plan.remove.length} object(s); run it again to finish)`,
        { details: { ...error.details, deleted }, hint: error.hint, exitCode: error.exitCode, cause: error },
      );
    }
  }
  return { deleted, deletedBytes };
}
