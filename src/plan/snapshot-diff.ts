// What changed between two snapshots of one source (`lifeboat diff`), as a
// pure function of what each holds (engines' describeSnapshot) and their
// fingerprints. Trees are compared entry by entry (restic's diff: added,
// removed, changed with what changed); databases object by object, with
// row-count changes for tables; any fingerprint key that differs is listed
// too, so engines without a listing (redis, nats) still say what moved.

import type { Fingerprint } from "../domain/fingerprint.ts";
import type { SnapshotContents, SnapshotObject, TreeListingEntry } from "../engines/engine.ts";

export type ChangeKind = "added" | "removed" | "changed";

export interface TreeChange {
  readonly change: ChangeKind;
  readonly path: string;
  readonly type: TreeListingEntry["type"];
  /** Content length before and after (files). */
  readonly sizeBefore?: number;
  readonly sizeAfter?: number;
  /** For "changed": which of type, content, size, mode, owner, mtime, link differ. */
  readonly what?: readonly string[];
}

export interface ObjectChange {
  readonly change: ChangeKind;
  readonly type: string;
  readonly name: string;
  readonly rowsBefore?: number;
  readonly rowsAfter?: number;
}

export interface FingerprintChange {
  readonly key: string;
  readonly before?: number | string;
  readonly after?: number | string;
}

export interface SnapshotDiff {
  readonly tree?: readonly TreeChange[];
  readonly objects?: readonly ObjectChange[];
  readonly fingerprint: readonly FingerprintChange[];
  readonly summary: {
    readonly added: number;
    readonly removed: number;
    readonly changed: number;
    /** Trees: bytes of files added (new files and growth) and removed (gone files and shrinkage). */
    readonly bytesAdded?: number;
    readonly bytesRemoved?: number;
  };
}

function treeWhat(before: TreeListingEntry, after: TreeListingEntry): string[] {
  const what: string[] = [];
  if (before.type !== after.type) what.push("type");
  if ((before.digest ?? "") !== (after.digest ?? "")) what.push("content");
  if (before.size !== after.size) what.push("size");
  if (before.mode !== after.mode) what.push("mode");
  if (before.uid !== after.uid || before.gid !== after.gid) what.push("owner");
  if (before.mtime !== after.mtime) what.push("mtime");
  if ((before.linkTarget ?? "") !== (after.linkTarget ?? "")) what.push("link");
  return what;
}

export function diffTrees(
  before: readonly TreeListingEntry[],
  after: readonly TreeListingEntry[],
): { changes: TreeChange[]; bytesAdded: number; bytesRemoved: number } {
  const old = new Map(before.map((entry) => [entry.path, entry]));
  const changes: TreeChange[] = [];
  let bytesAdded = 0;
  let bytesRemoved = 0;
  const fileBytes = (entry: TreeListingEntry) => (entry.type === "file" ? entry.size : 0);
  for (const entry of after) {
    const previous = old.get(entry.path);
    old.delete(entry.path);
    if (!previous) {
      changes.push({ change: "added", path: entry.path, type: entry.type, sizeAfter: entry.size });
      bytesAdded += fileBytes(entry);
      continue;
    }
    const what = treeWhat(previous, entry);
    if (what.length === 0) continue;
    changes.push({
      change: "changed",
      path: entry.path,
      type: entry.type,
      sizeBefore: previous.size,
      sizeAfter: entry.size,
      what,
    });
    const delta = fileBytes(entry) - fileBytes(previous);
    if (delta > 0) bytesAdded += delta;
    else bytesRemoved -= delta;
  }
  for (const entry of old.values()) {
    changes.push({ change: "removed", path: entry.path, type: entry.type, sizeBefore: entry.size });
    bytesRemoved += fileBytes(entry);
  }
  changes.sort((left, right) => (left.path < right.path ? -1 : left.path > right.path ? 1 : 0));
  return { changes, bytesAdded, bytesRemoved };
}

export function diffObjects(
  before: readonly SnapshotObject[],
  after: readonly SnapshotObject[],
): ObjectChange[] {
  const keyOf = (object: SnapshotObject) => `${object.type}\u0000${object.name}`;
  const old = new Map(before.map((object) => [keyOf(object), object]));
  const changes: ObjectChange[] = [];
  for (const object of after) {
    const previous = old.get(keyOf(object));
    old.delete(keyOf(object));
    const rows = {
      ...(previous?.rows !== undefined ? { rowsBefore: previous.rows } : {}),
      ...(object.rows !== undefined ? { rowsAfter: object.rows } : {}),
    };
    if (!previous) changes.push({ change: "added", type: object.type, name: object.name, ...rows });
    else if (previous.rows !== object.rows)
      changes.push({ change: "changed", type: object.type, name: object.name, ...rows });
  }
  for (const object of old.values()) {
    changes.push({
      change: "removed",
      type: object.type,
      name: object.name,
      ...(object.rows !== undefined ? { rowsBefore: object.rows } : {}),
    });
  }
  return changes.sort((left, right) =>
    left.name === right.name ? left.type.localeCompare(right.type) : left.name.localeCompare(right.name),
  );
}

export function diffFingerprints(before: Fingerprint, after: Fingerprint): FingerprintChange[] {
  const changes: FingerprintChange[] = [];
  for (const [left, right] of [
    [before.counts, after.counts],
    [before.hashes, after.hashes],
  ] as const) {
    for (const key of [...new Set([...Object.keys(left), ...Object.keys(right)])].sort()) {
      if (left[key] === right[key]) continue;
      changes.push({
        key,
        ...(left[key] !== undefined ? { before: left[key] } : {}),
        ...(right[key] !== undefined ? { after: right[key] } : {}),
      });
    }
  }
  return changes;
}

export function diffSnapshots(
  before: { contents: SnapshotContents; fingerprint: Fingerprint },
  after: { contents: SnapshotContents; fingerprint: Fingerprint },
): SnapshotDiff {
  const fingerprint = diffFingerprints(before.fingerprint, after.fingerprint);
  const count = (changes: readonly { change: ChangeKind }[]) => ({
    added: changes.filter((c) => c.change === "added").length,
    removed: changes.filter((c) => c.change === "removed").length,
    changed: changes.filter((c) => c.change === "changed").length,
  });
  if (before.contents.kind === "tree" && after.contents.kind === "tree") {
    const tree = diffTrees(before.contents.entries, after.contents.entries);
    return {
      tree: tree.changes,
      fingerprint,
      summary: { ...count(tree.changes), bytesAdded: tree.bytesAdded, bytesRemoved: tree.bytesRemoved },
    };
  }
  const objectsOf = (contents: SnapshotContents) => (contents.kind === "objects" ? contents.objects : []);
  const objects = diffObjects(objectsOf(before.contents), objectsOf(after.contents));
  return { objects, fingerprint, summary: count(objects) };
}
