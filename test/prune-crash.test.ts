// A format 2 prune killed at every point (ARCHITECTURE.md fault 4, "killed
// at any point"): the storage stops accepting writes after the k-th put or
// delete, for every k a real prune reaches. Whatever was left must pass
// `check --read-data`, the kept snapshot must restore exactly, and a second
// prune must finish the job, leaving nothing unreferenced.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { test } from "node:test";
import { planPrune } from "../src/plan/prune.ts";
import { chunkReferences } from "../src/repository/references.ts";
import { openRepository } from "../src/repository/repository.ts";
import type { Repository } from "../src/repository/types.ts";
import { clone, DyingBackend } from "./support/dying-backend.ts";
import { draft, newRepository, readAll } from "./support/repository-testing.ts";

const PASSWORD = "secret";
const MiB = 1024 * 1024;

async function prune(repository: Repository): Promise<void> {
  const references = chunkReferences(await repository.listSnapshots());
  const referenced = new Set(references.keys());
  const objects = await repository.pruneCandidates(references);
  const plan = planPrune({ referenced, objects, graceMs: 0, now: new Date() });
  await repository.applyPrune(plan);
}

test("a format 2 prune killed after any of its writes leaves a sound repository; the next prune finishes", async () => {
  // Snapshot "old" spans several 1 MiB packs; "kept" shares its first part, so
  // forgetting "old" leaves packs fully used, partly used (repacked) and unused (removed).
  const { backend, repository } = await newRepository(PASSWORD, undefined, { format: 2, packSize: MiB });
  const shared = randomBytes(Math.floor(1.6 * MiB));
  const old = Buffer.concat([shared, randomBytes(3 * MiB)]);
  const kept = Buffer.concat([shared, randomBytes(MiB / 2)]);
  const writeSnapshot = async (data: Buffer, at: string) => {
    const writer = await repository.newSnapshotWriter();
    await writer.write("blob", Readable.from([data]));
    return writer.commit(draft("app", at));
  };
  const oldSnapshot = await writeSnapshot(old, "2025-01-01T00:00:00.000Z");
  const keptSnapshot = await writeSnapshot(kept, "2025-01-02T00:00:00.000Z");
  await repository.forgetSnapshot(oldSnapshot.id);
  await repository.close();

  // How many writes a whole prune makes, and that it repacks as well as removes.
  const full = new DyingBackend(clone(backend), Number.MAX_SAFE_INTEGER);
  const fullRepository = await openRepository(full, PASSWORD);
  const references = chunkReferences(await fullRepository.listSnapshots());
  const objects = await fullRepository.pruneCandidates(references);
  const referenced = new Set(references.keys());
  const plan = planPrune({ referenced, objects, graceMs: 0, now: new Date() });
  assert.ok(plan.remove.length > 0 && plan.repack.length > 0, JSON.stringify(plan, null, 1));
  await fullRepository.applyPrune(plan);
  const totalWrites = full.writes;
  assert.ok(totalWrites >= 4, `a prune makes ${totalWrites} writes`);

  for (let limit = 0; limit < totalWrites; limit++) {
    const state = clone(backend);
    const dying = await openRepository(new DyingBackend(state, limit), PASSWORD);
    await assert.rejects(prune(dying), /killed/, `prune dies after ${limit} writes`);

    const after = await openRepository(state, PASSWORD);
    const report = await after.check({ readDataPercent: 100 });
    assert.deepEqual(report.problems, [], `killed after ${limit} of ${totalWrites} writes`);
    assert.deepEqual(await readAll(after, keptSnapshot.id, "blob"), kept);

    await prune(after);
    const finished = await openRepository(state, PASSWORD);
    const final = await finished.check({ readDataPercent: 100 });
    assert.deepEqual(final.problems, []);
    assert.equal(final.unreferenced, 0, `the second prune after a kill at ${limit} left leftovers`);
    assert.deepEqual(await readAll(finished, keptSnapshot.id, "blob"), kept);
    assert.deepEqual(
      [...state.objects.keys()].filter((key) => key.startsWith("index/")).length,
      1,
      "one index object after a finished prune",
    );
  }
});
