// The saved v1 and v2 repositories must keep opening and reading byte for
// byte: this catches accidental changes to the envelope, key files, chunk
// ids, gear table derivation, manifests, packs and index objects
// (docs/repository-format.md).

import { createHash } from "node:crypto";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { isLifeboatError } from "../src/errors.ts";
import { openRepository } from "../src/repository/repository.ts";
import type { Repository } from "../src/repository/types.ts";
import { FsBackend } from "../src/storage/fs.ts";
import { FIXTURE_PASSWORD, fixtureArtifacts } from "./fixtures/repo-v1/generate.ts";

const FIXTURES = [
  {
    version: 1,
    snapshot: "c940c9d05a69e9fb554d7cbfb4d5bd6e71614aa7715d48d70ba66f39da56b72f",
    objectsRead: 11, // chunk objects
  },
  {
    version: 2,
    snapshot: "6a67a6b06668d25fb5988cc77dd275156a7be0fba56cbdfd5477f7d7ad5ccbb4",
    objectsRead: 1, // one pack holds every chunk
  },
] as const;
const EXPECTED = {
  "bookings.tsv": { size: 2955, sha256: "41e4f13c76a83f6ea239605891ae2d5e618ebb8753c667a632b2672bca2e1f47" },
  "blob.bin": { size: 9000, sha256: "de594b1b4708c56c03a5078bf3d9d9fe98b1704f3b3806accd8123e918c6229a" },
} as const;

for (const { version, snapshot: SNAPSHOT_ID, objectsRead } of FIXTURES)
  describe(`repository format v${version} fixture`, () => {
    const FIXTURE = join(import.meta.dirname, "fixtures", `repo-v${version}`);
    let dir: string;
    let repository: Repository;

    before(async () => {
      // A copy, so nothing a reader does can alter the fixture itself.
      dir = await mkdtemp(join(tmpdir(), "lifeboat-fixture-"));
      await cp(FIXTURE, dir, { recursive: true });
      repository = await openRepository(new FsBackend(dir), FIXTURE_PASSWORD);
    });

    after(async () => {
      await repository?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it("opens with its password and lists its one snapshot", async () => {
      assert.equal(repository.config.version, version);
      assert.equal(repository.config.encryption, "aes-256-gcm");
      const snapshots = await repository.listSnapshots();
      assert.deepEqual(
        snapshots.map((s) => [s.id, s.source, s.engine, s.consistentAt, s.tags]),
        [[SNAPSHOT_ID, "fixture-db", "sqlite", "2025-03-01T10:00:01.000Z", ["fixture"]]],
      );
      assert.deepEqual(snapshots[0]!.fingerprint, { counts: { "rows:bookings": 120 }, hashes: {} });
    });

    it("reads both artifacts byte for byte", async () => {
      const snapshot = await repository.findSnapshot("latest", "fixture-db");
      const source = repository.openArtifacts(snapshot);
      for (const { name, data } of fixtureArtifacts()) {
        const expected = EXPECTED[name as keyof typeof EXPECTED];
        const bytes = Buffer.concat(await source.open(name).toArray());
        assert.equal(bytes.length, expected.size, name);
        assert.equal(createHash("sha256").update(bytes).digest("hex"), expected.sha256, name);
        assert.deepEqual(bytes, data, name);
        const ref = snapshot.artifacts.find((artifact) => artifact.name === name)!;
        assert.equal(ref.sha256, expected.sha256);
        assert.ok(ref.chunks.length >= 2, `${name} spans several chunks`);
      }
    });

    it("checks clean with every chunk read", async () => {
      const report = await repository.check({ readDataPercent: 100 });
      assert.deepEqual(report.problems, []);
      assert.equal(report.snapshots, 1);
      assert.equal(report.objectsRead, objectsRead);
      assert.equal(report.unreferenced, 0);
    });

    it("refuses a wrong password as WRONG_PASSWORD", async () => {
      await assert.rejects(openRepository(new FsBackend(dir), "not-the-password"), (error) =>
        isLifeboatError(error, "WRONG_PASSWORD"),
      );
    });
  });
