// Helpers shared by the repository's tests (not used by production code).

import assert from "node:assert/strict";
import type { SnapshotDraft } from "../../src/domain/snapshot.ts";
import { isLifeboatError } from "../../src/errors.ts";
import type { LifeboatError } from "../../src/errors.ts";
import { MemoryBackend } from "../../src/storage/memory.ts";
import { initRepository } from "../../src/repository/repository.ts";
import type { Repository } from "../../src/repository/types.ts";

export const TEST_KDF = { N: 1024, r: 8, p: 1 };
export const TEST_CHUNKER = { min: 4096, avg: 16384, max: 65536 };

export function draft(source = "app", consistentAt = "2025-01-01T00:00:00.000Z"): SnapshotDraft {
  return {
    source,
    engine: "files",
    startedAt: consistentAt,
    finishedAt: consistentAt,
    consistentAt,
    hostname: "test-host",
    lifeboatVersion: "0.0.0-test",
    engineMeta: { note: "test" },
    fingerprint: { counts: { files: 2 }, hashes: {} },
    tags: [],
  };
}

export function compressible(size: number): Buffer {
  const lines: string[] = [];
  for (let i = 0; lines.length * 40 < size; i++)
    lines.push(`${i}\tcustomer-${i % 97}\t2025-01-${(i % 28) + 1}\n`);
  return Buffer.from(lines.join("")).subarray(0, size);
}

/** Both formats a repository can have: suites about stored bytes run against each. */
export const FORMATS = [1, 2] as const;

export async function newRepository(
  password: string | null = "secret",
  backend = new MemoryBackend(),
  options: { format?: 1 | 2; packSize?: number } = {},
) {
  const repository = await initRepository(backend, {
    password,
    chunker: TEST_CHUNKER,
    kdf: TEST_KDF,
    ...options,
  });
  return { backend, repository };
}

export async function readAll(repository: Repository, id: string, name: string): Promise<Buffer> {
  const snapshot = await repository.findSnapshot(id);
  return Buffer.concat(await repository.openArtifacts(snapshot).open(name).toArray());
}

export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<LifeboatError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isLifeboatError(error), `expected a LifeboatError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, but it resolved`);
}
