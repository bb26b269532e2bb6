// Many small snapshots, quickly, through the repository API itself: each is a
// real snapshot writer's commit (chunked, sealed, packed, indexed, manifest
// last), only without an engine or a CLI process around it, so a repository
// of 100,000 snapshots takes minutes rather than a day of `lifeboat backup`.
//
// `distinct` gives every snapshot its own 1 KiB of random bytes: each then
// stores one pack and one index object of its own, as a repository of many
// small real backups has (the case for request counts and prune). Without
// it every snapshot holds the same bytes: after the first, a snapshot adds
// only its manifest (the case for listing many snapshots).

import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import type { SnapshotDraft } from "../../src/domain/snapshot.ts";
import type { Repository } from "../../src/repository/types.ts";

export interface SnapshotBatch {
  readonly source: string;
  readonly count: number;
  readonly distinct: boolean;
  /** Commits running at once (each its own writer, as concurrent backups would be). */
  readonly concurrency?: number;
  /** Consistent point of the first snapshot; each next one is a second later. */
  readonly firstAt: Date;
  /** Told every `every` commits, for a progress line. */
  readonly onProgress?: (done: number) => void;
}

const sameBytes = Buffer.from("lifeboat bench snapshot\n".repeat(40));

function draftAt(source: string, at: Date, serial: number): SnapshotDraft {
  const time = at.toISOString();
  return {
    source,
    engine: "files",
    startedAt: time,
    finishedAt: time,
    consistentAt: time,
    hostname: "bench-factory",
    lifeboatVersion: "bench",
    // The serial makes every manifest (and so every snapshot id) unique even with equal bytes.
    engineMeta: { generatedBy: "bench/support/snapshot-factory.ts", serial },
    fingerprint: { counts: { files: 1, bytes: 1024 }, hashes: {} },
    tags: [],
  };
}

/** Commit `count` snapshots of `source`; returns the seconds it took. */
export async function addSnapshots(repository: Repository, batch: SnapshotBatch): Promise<number> {
  const started = performance.now();
  const concurrency = batch.concurrency ?? 8;
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < batch.count) {
      const serial = next++;
      const writer = await repository.newSnapshotWriter();
      const bytes = batch.distinct ? randomBytes(1024) : sameBytes;
      await writer.write("data.bin", Readable.from([bytes]));
      const at = new Date(batch.firstAt.getTime() + serial * 1000);
      await writer.commit(draftAt(batch.source, at, serial));
      done++;
      if (done % 1000 === 0) batch.onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (performance.now() - started) / 1000;
}
