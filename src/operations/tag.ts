// Changing a snapshot's tags after backup (`lifeboat tag add|remove`), as
// restic's `tag` does. Plan, then apply: planTagChange() finds the snapshot
// and computes its new tags; applyTagChange() writes the new manifest (a
// manifest is immutable, so new tags mean a new snapshot id) and deletes the
// old one. The caller holds the exclusive lock for both (a shared one for a
// dry run, which only plans), so the snapshot cannot change in between.

import type { Snapshot } from "../domain/snapshot.ts";
import { changedTags } from "../domain/tags.ts";
import { retaggedManifest } from "../repository/manifest.ts";
import type { OperationContext } from "./context.ts";

export interface TagChange {
  readonly add: readonly string[];
  readonly remove: readonly string[];
}

export interface TagPlan {
  readonly snapshot: Snapshot;
  /** The tags after the change, sorted. */
  readonly tags: readonly string[];
  /** False when the change leaves the tags as they are: nothing is written. */
  readonly changed: boolean;
  /** The snapshot's id once the change is applied (its current id when nothing changes). */
  readonly newId: string;
}

export interface TagOutcome {
  readonly from: Snapshot;
  /** The snapshot as it is now: a new id when the tags changed, `from` itself when not. */
  readonly to: Snapshot;
}

/** `selector`: an id, unique prefix or `latest` (of `source`, when given). */
export async function planTagChange(
  context: OperationContext,
  selector: string,
  source: string | undefined,
  change: TagChange,
): Promise<TagPlan> {
  const snapshot = await context.repository.findSnapshot(selector, source);
  const tags = changedTags(snapshot.tags, change);
  const changed = tags.join("\n") !== [...snapshot.tags].sort().join("\n");
  const newId = changed ? retaggedManifest(snapshot, tags).id : snapshot.id;
  return { snapshot, tags, changed, newId };
}

export async function applyTagChange(context: OperationContext, plan: TagPlan): Promise<TagOutcome> {
  if (!plan.changed) return { from: plan.snapshot, to: plan.snapshot };
  context.signal?.throwIfAborted();
  const to = await context.repository.replaceSnapshotTags(plan.snapshot, plan.tags);
  return { from: plan.snapshot, to };
}
