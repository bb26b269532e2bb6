// Which chunks the snapshots reference: one definition shared by `check`
// (missing and unreferenced objects) and `prune` (what may be deleted), so
// the two can never disagree about what "referenced" means.

import type { Snapshot } from "../domain/snapshot.ts";

/** Chunk id -> ids of the snapshots that reference it (each snapshot once). */
export function chunkReferences(snapshots: readonly Snapshot[]): Map<string, string[]> {
  const referencedBy = new Map<string, string[]>();
  for (const snapshot of snapshots) {
    for (const artifact of snapshot.artifacts) {
      for (const id of artifact.chunks) {
        const users = referencedBy.get(id);
        if (!users) referencedBy.set(id, [snapshot.id]);
        else if (users.at(-1) !== snapshot.id) users.push(snapshot.id);
      }
    }
  }
  return referencedBy;
}

/** The chunk id a data/ key names (data/ab/ab12... -> ab12...). */
export function chunkIdOfKey(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}
