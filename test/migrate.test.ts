// `migrate` (format 1 -> 2) and `repair index`, at the repository level:
// the saved v1 fixture migrates with its snapshot ids and bytes intact; a
// migration killed after any write leaves a repository that opens, restores
// and passes check, and a second run finishes it; a lost or damaged index is
// rebuilt from the packs' headers, and prune refuses to run without it.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { planPrune } from "../src/plan/prune.ts";
import { chunkReferences } from "../src/repository/references.ts";
import { openRepository } from "../src/repository/repository.ts";
import type { DamagedObject, Repository } from "../src/repository/types.ts";
import { FsBackend } from "../src/storage/fs.ts";
import type { MemoryBackend } from "../src/storage/memory.ts";
import { clone, DyingBackend } from "./support/dying-backend.ts";
import { FIXTURE_PASSWORD, fixtureArtifacts } from "./fixtures/repo-v1/generate.ts";
import { draft, newRepository, readAll, rejectsWith } from "./support/repository-testing.ts";

const FIXTURE_SNAPSHOT = "c940c9d05a69e9fb554d7cbfb4d5bd6e71614aa7715d48d70ba66f39da56b72f";
const PASSWORD = "secret";
const MiB = 1024 * 1024;

const keysUnder = (backend: MemoryBackend, prefix: string) =>
  [...backend.objects.keys()].filter((key) => key.startsWith(prefix)).sort();

/** A format 1 repository of two snapshots sharing data, and their artifacts. */
async function formatOneRepository() {
  const { backend, repository } = await newRepository(PASSWORD, undefined, { format: 1, packSize: MiB });
  const shared = randomBytes(MiB);
  const data = [Buffer.concat([shared, randomBytes(MiB)]), Buffer.concat([randomBytes(MiB / 2), shared])];
  const ids: string[] = [];
  for (const [n, bytes] of data.entries()) {
    const writer = await repository.newSnapshotWriter();
    await writer.write("blob", Readable.from([bytes]));
    ids.push((await writer.commit(draft("app", `2025-01-0${n + 1}T00:00:00.000Z`))).id);
  }
  await repository.close();
  return { backend, ids, data };
}

async function assertSound(
  repository: Repository,
  ids: readonly string[],
  data: readonly Buffer[],
  why: string,
  { configWritePending = false } = {},
) {
  const report = await repository.check({ readDataPercent: 100 });
  // Killed between the key files' config copies and config itself: the repository opens as
  // format 2 from the copy, and check says config needs rewriting (migrate or repair config does it).
  const problems = configWritePending
    ? report.problems.filter((problem) => problem.code !== "REPOSITORY_CONFIG_DAMAGED")
    : report.problems;
  assert.deepEqual(problems, [], why);
  for (const [n, id] of ids.entries()) assert.deepEqual(await readAll(repository, id, "blob"), data[n], why);
}

async function prune(repository: Repository): Promise<void> {
  const references = chunkReferences(await repository.listSnapshots());
  const referenced = new Set(references.keys());
  const objects = await repository.pruneCandidates(references);
  await repository.applyPrune(planPrune({ referenced, objects, graceMs: 0, now: new Date() }));
}

describe("migrate", () => {
  it("converts the saved v1 fixture: same snapshot id, same bytes, no warnings, no chunk objects left", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lifeboat-migrate-"));
    try {
      await cp(join(import.meta.dirname, "fixtures", "repo-v1"), dir, { recursive: true });
      const v1 = await openRepository(new FsBackend(dir), FIXTURE_PASSWORD);
      const objectsBefore = (await readdir(join(dir, "data"), { recursive: true })).length;
      const dry = await v1.migrate({ dryRun: true });
      assert.equal(dry.dryRun, true);
      assert.ok(dry.chunks > 5, `${dry.chunks} chunk objects`);
      assert.equal(
        (await readdir(join(dir, "data"), { recursive: true })).length,
        objectsBefore,
        "dry run writes nothing",
      );
      const result = await v1.migrate();
      await v1.close();
      assert.equal(result.chunks, dry.chunks);
      assert.equal(result.packs, 1);
      assert.equal(result.deleted, dry.chunks);

      const warnings: DamagedObject[] = [];
      const v2 = await openRepository(new FsBackend(dir), FIXTURE_PASSWORD, {
        onWarning: (warning) => warnings.push(warning),
      });
      assert.equal(v2.config.version, 2);
      assert.deepEqual(v2.damage, { keys: [] }, "config and its copies in the key files agree");
      const snapshot = await v2.findSnapshot(FIXTURE_SNAPSHOT);
      const source = v2.openArtifacts(snapshot);
      for (const { name, data } of fixtureArtifacts())
        assert.deepEqual(Buffer.concat(await source.open(name).toArray()), data, name);
      assert.deepEqual((await v2.check({ readDataPercent: 100 })).problems, []);
      assert.deepEqual(warnings, []);
      const shards = await readdir(join(dir, "data"), { recursive: true, withFileTypes: true });
      assert.equal(shards.filter((entry) => entry.isFile()).length, 1, "one pack, no chunk objects");
      assert.equal((await v2.migrate()).chunks, 0, "a second migrate has nothing to do");
      await v2.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("killed after any of its writes: the repository opens, restores and checks; a second run finishes", async () => {
    const { backend, ids, data } = await formatOneRepository();
    const probe = new DyingBackend(clone(backend), Number.MAX_SAFE_INTEGER);
    await (await openRepository(probe, PASSWORD)).migrate();
    const totalWrites = probe.writes;
    assert.ok(totalWrites > 6, `${totalWrites} writes`);

    // Every write up to and past the commit point (packs, index, key files, config),
    // then a sample of the deletions that follow it, which all leave the same kind of state.
    const limits = new Set<number>();
    for (let limit = 0; limit < totalWrites; limit++) {
      if (limit < 12 || limit % 25 === 0 || limit >= totalWrites - 2) limits.add(limit);
    }
    for (const limit of limits) {
      const state = clone(backend);
      const dying = await openRepository(new DyingBackend(state, limit), PASSWORD);
      await assert.rejects(dying.migrate(), /killed/);
      const after = await openRepository(state, PASSWORD);
      const pending = after.damage.config !== undefined;
      if (pending) assert.equal(after.config.version, 2, "the copy in the key files is the migrated config");
      const why = `killed after ${limit} of ${totalWrites} writes (format ${after.config.version})`;
      await assertSound(after, ids, data, why, { configWritePending: pending });

      await after.migrate();
      const finished = await openRepository(state, PASSWORD);
      assert.equal(finished.config.version, 2);
      assert.equal(finished.damage.config, undefined, "config is written by the end of a migration");
      if (limit < totalWrites - 1) await finished.migrate(); // a run killed in its deletions is finished by the next
      await prune(finished); // packs of a run killed before its commit point are leftovers
      const final = await openRepository(state, PASSWORD);
      await assertSound(final, ids, data, `after finishing the migration killed at ${limit}`);
      assert.equal(
        (await final.check({ readDataPercent: 0 })).unreferenced,
        0,
        `leftovers after a kill at ${limit}`,
      );
    }
  });
});

describe("repair index", () => {
  async function formatTwoRepository() {
    const { backend, repository } = await newRepository(PASSWORD, undefined, { packSize: MiB });
    const data = [randomBytes(2 * MiB), randomBytes(MiB)];
    const ids: string[] = [];
    for (const [n, bytes] of data.entries()) {
      const writer = await repository.newSnapshotWriter();
      await writer.write("blob", Readable.from([bytes]));
      ids.push((await writer.commit(draft("app", `2025-02-0${n + 1}T00:00:00.000Z`))).id);
    }
    return { backend, repository, ids, data };
  }

  it("rebuilds a lost index from the pack headers", async () => {
    const { backend, ids, data } = await formatTwoRepository();
    const packs = keysUnder(backend, "data/");
    for (const key of keysUnder(backend, "index/")) backend.objects.delete(key);
    const broken = await openRepository(backend, PASSWORD);
    const error = await rejectsWith(readAll(broken, ids[0]!, "blob"), "OBJECT_MISSING");
    assert.match(error.hint ?? "", /repair index/);
    assert.ok((await broken.check({ readDataPercent: 0 })).problems.length > 0);
    await rejectsWith(prune(broken), "PRUNE_INDEX_DAMAGED");
    assert.deepEqual(keysUnder(backend, "data/"), packs, "prune deleted nothing");

    const dry = await broken.repairIndex({ dryRun: true });
    assert.equal(keysUnder(backend, "index/").length, 0, "a dry run writes nothing");
    const repaired = await broken.repairIndex();
    assert.deepEqual({ ...repaired, dryRun: true }, dry);
    assert.equal(repaired.packs, packs.length);
    assert.deepEqual(repaired.unreadable, []);
    await assertSound(await openRepository(backend, PASSWORD), ids, data, "after repair index");
  });

  it("a damaged index object refuses prune; repair replaces it and names packs it cannot read", async () => {
    const { backend, ids, data } = await formatTwoRepository();
    const [indexKey] = keysUnder(backend, "index/");
    const bytes = backend.objects.get(indexKey!)!;
    bytes[bytes.length >> 1]! ^= 1;
    const damaged = await openRepository(backend, PASSWORD);
    const refused = await rejectsWith(prune(damaged), "PRUNE_INDEX_DAMAGED");
    assert.ok(refused.message.includes(indexKey!), refused.message);
    assert.ok((await damaged.check({ readDataPercent: 0 })).problems.some((p) => p.object === indexKey));

    // A pack whose header is damaged cannot be indexed: reported, left in place.
    const [firstPack] = keysUnder(backend, "data/");
    const pack = backend.objects.get(firstPack!)!;
    pack[pack.length - 10]! ^= 1;
    const repaired = await damaged.repairIndex();
    assert.deepEqual(
      repaired.unreadable.map((object) => [object.object, object.code]),
      [[firstPack, "CHECKSUM_MISMATCH"]],
    );
    assert.ok(backend.objects.has(firstPack!));
    assert.ok(!backend.objects.has(indexKey!), "the damaged index object is replaced");
    pack[pack.length - 10]! ^= 1; // the header restored: a second repair indexes every pack again
    assert.deepEqual((await damaged.repairIndex()).unreadable, []);
    await assertSound(await openRepository(backend, PASSWORD), ids, data, "after the second repair");
  });
});
