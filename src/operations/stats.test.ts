import assert from "node:assert/strict";
import { test } from "node:test";
import type { Snapshot } from "../domain/snapshot.ts";
import type { ChunkSize } from "../repository/types.ts";
import { summarize } from "./stats.ts";

const chunk = (n: number) => n.toString(16).padStart(64, "0");

function snapshot(id: number, source: string, chunks: number[], size: number): Snapshot {
  return {
    id: chunk(1000 + id),
    source,
    engine: "files",
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:00:01.000Z",
    consistentAt: `2026-01-01T00:00:0${id}.000Z`,
    hostname: "h",
    lifeboatVersion: "0",
    artifacts: [{ name: "a", size, sha256: chunk(0), chunks: chunks.map(chunk) }],
    engineMeta: {},
    fingerprint: { counts: {}, hashes: {} },
    tags: [],
  };
}

// Chunk n: plaintext 100 bytes, stored 10 (chunk 9: stored 100, incompressible).
const sizes = new Map<string, ChunkSize>(
  [1, 2, 3, 4, 9].map((n) => [chunk(n), { stored: n === 9 ? 100 : 10, plain: 100 }]),
);

test("totals count each chunk once; ratios follow from them", () => {
  const snapshots = [
    snapshot(1, "db", [1, 2], 200),
    snapshot(2, "db", [1, 2, 3], 300),
    snapshot(3, "files", [3, 9], 200),
  ];
  const summary = summarize(snapshots, sizes, { last: 5 });
  const db = summary.sources.find((source) => source.source === "db")!;
  assert.equal(db.logicalBytes, 500);
  assert.equal(db.uniqueChunks, 3);
  assert.equal(db.uniquePlainBytes, 300);
  assert.equal(db.storedBytes, 30);
  assert.equal(db.deduplicationRatio, 500 / 300);
  assert.equal(db.compressionRatio, 10);
  assert.deepEqual(
    db.growth.map((step) => [step.previous, step.newChunks, step.newPlainBytes, step.newStoredBytes]),
    [
      [null, 2, 200, 20],
      [snapshots[0]!.id, 1, 100, 10],
    ],
  );
  // Chunk 3 is shared between the sources: counted once in the total.
  assert.equal(summary.total.uniqueChunks, 4);
  assert.equal(summary.total.storedBytes, 130);
  assert.equal(summary.total.logicalBytes, 700);
  assert.equal(summary.plainSizesKnown, true);
  assert.deepEqual(
    summary.sources.map((source) => source.source),
    ["db", "files"],
  );
});

test("growth covers the last N snapshots, each against the one before it", () => {
  const snapshots = [1, 2, 3].map((n) => snapshot(n, "db", [n], 100));
  const { sources } = summarize(snapshots, sizes, { last: 2 });
  assert.deepEqual(
    sources[0]!.growth.map((step) => [step.id, step.previous, step.newChunks]),
    [
      [snapshots[1]!.id, snapshots[0]!.id, 1],
      [snapshots[2]!.id, snapshots[1]!.id, 1],
    ],
  );
});

test("unknown plaintext sizes and missing chunks give null, never a guess", () => {
  const formatOne = new Map<string, ChunkSize>([[chunk(1), { stored: 10, plain: null }]]);
  const one = summarize([snapshot(1, "db", [1], 100)], formatOne, { last: 1 });
  assert.equal(one.plainSizesKnown, false);
  assert.equal(one.total.storedBytes, 10);
  assert.equal(one.total.uniquePlainBytes, null);
  assert.equal(one.total.deduplicationRatio, null);
  assert.equal(one.total.compressionRatio, null);

  const missing = summarize([snapshot(1, "db", [1, 7], 200)], sizes, { last: 1 });
  assert.equal(missing.total.missingChunks, 1);
  assert.equal(missing.total.storedBytes, null);
  assert.equal(missing.total.compressionRatio, null);
});

test("a named source without snapshots is listed with zeros", () => {
  const { sources, total } = summarize([], sizes, { sources: ["db"], last: 5 });
  assert.deepEqual(
    sources.map((source) => [source.source, source.snapshots, source.storedBytes, source.deduplicationRatio]),
    [["db", 0, 0, null]],
  );
  assert.equal(total.snapshots, 0);
});
