// A property test of the repository (issue 7): random sequences of backups,
// forgets, prunes and kills (storage that dies after a random number of
// writes, as a killed process leaves it), on format 2 with small packs so
// packs are shared, partly used and repacked. After every sequence each
// snapshot the model says exists restores exactly and `check --read-data`
// passes. Seeded: a failure names the seed and the operations, which replay it.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { test } from "node:test";
import { planPrune } from "../src/plan/prune.ts";
import { chunkReferences } from "../src/repository/references.ts";
import { openRepository } from "../src/repository/repository.ts";
import type { Repository } from "../src/repository/types.ts";
import type { Backend } from "../src/storage/backend.ts";
import { DyingBackend } from "./support/dying-backend.ts";
import { draft, newRepository, readAll } from "./support/repository-testing.ts";

const PASSWORD = "secret";
const SEEDS = [1, 2, 3, 4];
const OPERATIONS = 24;

/** mulberry32: a small deterministic PRNG, so a failing seed replays exactly. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic pseudo-random bytes (incompressible, so chunks and packs have real sizes). */
function bytes(seed: string, length: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; parts.length * 32 < length; i++)
    parts.push(createHash("sha256").update(`${seed}:${i}`).digest());
  return Buffer.concat(parts).subarray(0, length);
}

async function backup(repository: Repository, data: Buffer, at: number): Promise<string> {
  const writer = await repository.newSnapshotWriter();
  await writer.write("blob", Readable.from([data]));
  return (await writer.commit(draft("app", new Date(Date.UTC(2025, 0, 1) + at * 60_000).toISOString()))).id;
}

async function prune(repository: Repository, repackThreshold: number): Promise<void> {
  const references = chunkReferences(await repository.listSnapshots());
  const objects = await repository.pruneCandidates(references);
  const plan = planPrune({
    referenced: new Set(references.keys()),
    objects,
    graceMs: 0,
    now: new Date(),
    repackThreshold,
  });
  await repository.applyPrune(plan);
}

for (const seed of SEEDS) {
  test(`random backup/forget/prune/kill sequence, seed ${seed}: every kept snapshot restores, check --read-data passes`, async () => {
    const next = random(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const { backend } = await newRepository(PASSWORD, undefined, { format: 2, packSize: 1024 * 1024 });
    /** The model: snapshot id -> the bytes it holds. */
    const model = new Map<string, Buffer>();
    const pieces: Buffer[] = [bytes(`${seed}-base`, 400_000)];
    const log: string[] = [];
    const open = (storage: Backend = backend) => openRepository(storage, PASSWORD);

    for (let step = 0; step < OPERATIONS; step++) {
      const roll = next();
      const killAfter = Math.floor(next() * 8); // writes before the storage dies
      if (roll < 0.4 || model.size === 0) {
        // A backup: old pieces (deduplicated) and a new one, in random order.
        const fresh = bytes(`${seed}-${step}`, 50_000 + Math.floor(next() * 600_000));
        pieces.push(fresh);
        const data = Buffer.concat([pick(pieces), fresh, pick(pieces)]);
        const killed = next() < 0.25;
        log.push(`${step}: backup ${data.length} bytes${killed ? `, killed after ${killAfter} writes` : ""}`);
        if (killed) {
          const dying = new DyingBackend(backend, killAfter);
          await backup(await open(dying), data, step).then(
            (id) => model.set(id, data), // it got through before the limit
            (error: Error) => assert.match(error.message, /killed/),
          );
        } else {
          model.set(await backup(await open(), data, step), data);
        }
      } else if (roll < 0.65) {
        const id = pick([...model.keys()]);
        log.push(`${step}: forget ${id.slice(0, 8)}`);
        await (await open()).forgetSnapshot(id);
        model.delete(id);
      } else {
        const threshold = pick([0, 0.2, 0.5]);
        const killed = next() < 0.5;
        log.push(
          `${step}: prune (repack above ${threshold * 100} %)${killed ? `, killed after ${killAfter} writes` : ""}`,
        );
        const repository = await open(killed ? new DyingBackend(backend, killAfter) : backend);
        await prune(repository, threshold).catch((error: Error) => {
          if (!killed) throw error;
          assert.match(error.message, /killed/);
        });
      }
      // Never more or fewer snapshots than the model, whatever was killed.
      const listed = (await (await open()).listSnapshots()).map((snapshot) => snapshot.id).sort();
      assert.deepEqual(listed, [...model.keys()].sort(), `seed ${seed}\n${log.join("\n")}`);
    }

    const repository = await open();
    const report = await repository.check({ readDataPercent: 100 });
    assert.deepEqual(report.problems, [], `seed ${seed}\n${log.join("\n")}`);
    for (const [id, data] of model)
      assert.deepEqual(await readAll(repository, id, "blob"), data, `${id} (seed ${seed})`);
    // A final prune leaves nothing unreferenced and everything restorable.
    await prune(repository, 0);
    const final = await open();
    const after = await final.check({ readDataPercent: 100 });
    assert.deepEqual(after.problems, []);
    assert.equal(after.unreferenced, 0, `seed ${seed}\n${log.join("\n")}`);
    for (const [id, data] of model) assert.deepEqual(await readAll(final, id, "blob"), data);
  });
}
