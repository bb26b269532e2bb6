import assert from "node:assert/strict";
import { test } from "node:test";
import type { Snapshot } from "../domain/snapshot.ts";
import type { DamagedSnapshot } from "../repository/types.ts";
import { captureKey, planCopy } from "./copy.ts";

// A capture as the source repository lists it; `id` stands for its manifest hash there.
function capture(id: string, overrides: Partial<Snapshot> = {}): Snapshot {
  return {
    id,
    source: "db",
    engine: "sqlite",
    startedAt: `2026-01-01T00:00:0${id.length % 10}.000Z`,
    finishedAt: "2026-01-01T00:01:00.000Z",
    consistentAt: `2026-01-01T00:00:00.${id.padStart(3, "0").slice(-3)}Z`,
    hostname: "host-a",
    lifeboatVersion: "0.1.0",
    artifacts: [{ name: "db.sqlite", size: 3, sha256: "aa", chunks: [`chunk-of-${id}`] }],
    engineMeta: {},
    fingerprint: { counts: { "rows:t": 1 }, hashes: { content: "x" } },
    tags: [],
    ...overrides,
  };
}

/** The same capture as another repository stores it: other chunk ids, so another manifest id. */
function copiedAs(snapshot: Snapshot, id: string): Snapshot {
  return {
    ...snapshot,
    id,
    artifacts: snapshot.artifacts.map((artifact) => ({ ...artifact, chunks: [`other-${id}`] })),
  };
}

const damaged: DamagedSnapshot = {
  id: "dead",
  code: "CHECKSUM_MISMATCH",
  object: "snapshots/dead",
  message: "snapshot dead is damaged",
};

test("copies what the destination lacks, recognising copies by their capture, not their id", () => {
  const [a, b, c] = [capture("1"), capture("2"), capture("3")];
  const plan = planCopy({
    source: { snapshots: [a!, b!, c!], damaged: [] },
    destination: [copiedAs(b!, "b-in-dest")],
    sources: [],
  });
  assert.deepEqual(
    plan.copy.map((snapshot) => snapshot.id),
    ["1", "3"],
  );
  assert.deepEqual(plan.present, [{ snapshot: b, destinationId: "b-in-dest" }]);
});

test("a finished copy plans nothing more", () => {
  const all = [capture("1"), capture("2")];
  const plan = planCopy({
    source: { snapshots: all, damaged: [] },
    destination: all.map((snapshot) => copiedAs(snapshot, `copy-${snapshot.id}`)),
    sources: [],
  });
  assert.deepEqual(plan.copy, []);
  assert.equal(plan.present.length, 2);
});

test("any differing capture fact makes it another snapshot", () => {
  const base = capture("1");
  const differing: Partial<Snapshot>[] = [
    { source: "other" },
    { engine: "files" },
    { startedAt: "2025-01-01T00:00:00.000Z" },
    { finishedAt: "2025-01-01T00:00:00.000Z" },
    { consistentAt: "2025-01-01T00:00:00.000Z" },
    { hostname: "host-b" },
    { fingerprint: { counts: { "rows:t": 2 }, hashes: { content: "x" } } },
  ];
  for (const overrides of differing) {
    const plan = planCopy({
      source: { snapshots: [base], damaged: [] },
      destination: [copiedAs({ ...base, ...overrides }, "d")],
      sources: [],
    });
    assert.equal(plan.copy.length, 1, JSON.stringify(overrides));
  }
});

test("the fingerprint's key order does not matter; tags and lifeboatVersion do not identify", () => {
  const base = capture("1", { fingerprint: { counts: { a: 1, b: 2 }, hashes: { x: "1", y: "2" } } });
  const reordered = copiedAs(
    { ...base, fingerprint: { counts: { b: 2, a: 1 }, hashes: { y: "2", x: "1" } }, tags: ["pin"] },
    "d",
  );
  assert.equal(captureKey(base), captureKey({ ...reordered, lifeboatVersion: "9.9.9" }));
});

test("only the named sources; damaged manifests are skipped and listed", () => {
  const db = capture("1");
  const files = capture("2", { source: "uploads", engine: "files" });
  const plan = planCopy({
    source: { snapshots: [db, files], damaged: [damaged] },
    destination: [],
    sources: ["uploads"],
  });
  assert.deepEqual(plan.copy, [files]);
  assert.deepEqual(plan.damaged, [damaged]);
});

test("the same capture held twice by the source is copied once", () => {
  const original = capture("1");
  const plan = planCopy({
    source: { snapshots: [original, copiedAs(original, "again")], damaged: [] },
    destination: [],
    sources: [],
  });
  assert.deepEqual(plan.copy, [original]);
});
