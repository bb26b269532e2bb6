import assert from "node:assert/strict";
import { test } from "node:test";
import type { TreeListingEntry } from "../engines/engine.ts";
import { diffFingerprints, diffObjects, diffSnapshots, diffTrees } from "./snapshot-diff.ts";

const file = (
  path: string,
  size: number,
  digest: string,
  extra: Partial<TreeListingEntry> = {},
): TreeListingEntry => ({
  path,
  type: "file",
  mode: 0o644,
  size,
  mtime: "2026-01-01T00:00:00.000Z",
  uid: 0,
  gid: 0,
  digest,
  ...extra,
});

test("trees: added, removed and changed entries with what changed and the bytes moved", () => {
  const { changes, bytesAdded, bytesRemoved } = diffTrees(
    [file("a", 10, "1"), file("b", 5, "2"), file("c", 7, "3"), file("d", 1, "4")],
    [file("a", 12, "9"), file("c", 7, "3", { mode: 0o600 }), file("d", 1, "4"), file("e", 3, "5")],
  );
  assert.deepEqual(changes, [
    { change: "changed", path: "a", type: "file", sizeBefore: 10, sizeAfter: 12, what: ["content", "size"] },
    { change: "removed", path: "b", type: "file", sizeBefore: 5 },
    { change: "changed", path: "c", type: "file", sizeBefore: 7, sizeAfter: 7, what: ["mode"] },
    { change: "added", path: "e", type: "file", sizeAfter: 3 },
  ]);
  assert.equal(bytesAdded, 2 + 3);
  assert.equal(bytesRemoved, 5);
});

test("objects: row-count changes, new and dropped objects; unchanged ones are not listed", () => {
  const changes = diffObjects(
    [
      { type: "table", name: "public.a", rows: 3 },
      { type: "table", name: "public.b", rows: 1 },
      { type: "view", name: "public.v" },
    ],
    [
      { type: "table", name: "public.a", rows: 5 },
      { type: "table", name: "public.c", rows: 0 },
      { type: "view", name: "public.v" },
    ],
  );
  assert.deepEqual(changes, [
    { change: "changed", type: "table", name: "public.a", rowsBefore: 3, rowsAfter: 5 },
    { change: "removed", type: "table", name: "public.b", rowsBefore: 1 },
    { change: "added", type: "table", name: "public.c", rowsAfter: 0 },
  ]);
});

test("fingerprints: every key that differs, on either side", () => {
  assert.deepEqual(
    diffFingerprints(
      { counts: { "keys:db0": 3, same: 1 }, hashes: { tree: "x" } },
      { counts: { "keys:db0": 4, same: 1, "keys:db1": 2 }, hashes: { tree: "y" } },
    ),
    [
      { key: "keys:db0", before: 3, after: 4 },
      { key: "keys:db1", after: 2 },
      { key: "tree", before: "x", after: "y" },
    ],
  );
});

test("a diff of two database snapshots counts its object changes", () => {
  const diff = diffSnapshots(
    {
      contents: { kind: "objects", objects: [{ type: "table", name: "t", rows: 1 }] },
      fingerprint: { counts: { "rows:t": 1 }, hashes: {} },
    },
    {
      contents: { kind: "objects", objects: [{ type: "table", name: "t", rows: 2 }] },
      fingerprint: { counts: { "rows:t": 2 }, hashes: {} },
    },
  );
  assert.deepEqual(diff.summary, { added: 0, removed: 0, changed: 1 });
  assert.deepEqual(diff.fingerprint, [{ key: "rows:t", before: 1, after: 2 }]);
  assert.equal(diff.tree, undefined);
});
