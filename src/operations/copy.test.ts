import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { test } from "node:test";
import { LifeboatError } from "../errors.ts";
import type { Repository } from "../repository/types.ts";
import { compressible, draft, newRepository, readAll } from "../../test/support/repository-testing.ts";
import { copySnapshots } from "./copy.ts";

async function withSnapshots(repository: Repository, count: number) {
  for (let i = 0; i < count; i++) {
    const writer = await repository.newSnapshotWriter();
    await writer.write("data", Readable.from([compressible(100_000 + i)]));
    await writer.commit({
      ...draft("app", `2025-01-0${i + 1}T00:00:00.000Z`),
      tags: ["pin"],
      engineMeta: { index: i },
    });
  }
  return repository.listSnapshots();
}

test("a copy keeps every manifest fact and the artifact's bytes, under the destination's own chunk ids", async () => {
  const { repository: from } = await newRepository("source password");
  const { repository: to } = await newRepository("offsite password");
  const [snapshot] = await withSnapshots(from, 1);
  const { copied, failures } = await copySnapshots(from, to, [snapshot!]);
  assert.deepEqual(failures, []);
  const copy = copied[0]!.to;
  const { id: _a, artifacts: _b, ...facts } = snapshot!;
  const { id: _c, artifacts: _d, ...copiedFacts } = copy;
  assert.deepEqual(copiedFacts, facts);
  assert.notEqual(copy.id, snapshot!.id);
  assert.notDeepEqual(copy.artifacts[0]!.chunks, snapshot!.artifacts[0]!.chunks);
  assert.deepEqual(await readAll(to, copy.id, "data"), await readAll(from, snapshot!.id, "data"));
  assert.equal(copied[0]!.stats.bytesRead, snapshot!.artifacts[0]!.size);
});

test("an abort stops between snapshots: what was committed stays, nothing more is", async () => {
  const { repository: from } = await newRepository("source password");
  const { repository: to } = await newRepository("offsite password");
  const snapshots = await withSnapshots(from, 3);
  const controller = new AbortController();
  const reason = new LifeboatError("INTERRUPTED", "interrupted by SIGINT");
  await assert.rejects(
    copySnapshots(from, to, snapshots, {
      signal: controller.signal,
      onCopied: () => controller.abort(reason),
    }),
    (error) => error === reason,
  );
  assert.equal((await to.listSnapshots()).length, 1);
});

test("an abort after a snapshot's first artifact ends its reads and commits nothing", async () => {
  const { repository: from } = await newRepository("source password");
  const { repository: to } = await newRepository("offsite password");
  const writer = await from.newSnapshotWriter();
  for (const name of ["first", "second"]) await writer.write(name, Readable.from([compressible(50_000)]));
  const snapshot = await writer.commit(draft());
  const controller = new AbortController();
  const reason = new LifeboatError("INTERRUPTED", "interrupted by SIGTERM");
  // The real source, except that opening the second artifact is when Ctrl-C arrives.
  const interrupted = {
    openArtifacts: (opened: typeof snapshot) => {
      const artifacts = from.openArtifacts(opened);
      return {
        ...artifacts,
        open: (name: string) => {
          if (name === "second") controller.abort(reason);
          return artifacts.open(name);
        },
      };
    },
  } as unknown as Repository;
  await assert.rejects(
    copySnapshots(interrupted, to, [snapshot], { signal: controller.signal }),
    (error) => error === reason,
  );
  assert.deepEqual(await to.listSnapshots(), []);
});
