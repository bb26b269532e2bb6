import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { engineFor } from "../engines/registry.ts";
import { newRepository } from "../../test/support/repository-testing.ts";
import { silentLogger } from "../runtime/logger.ts";
import { processRunner } from "../runtime/process.ts";
import { backupSource } from "./backup.ts";
import type { OperationContext, ProgressSink } from "./context.ts";

test("a backup's progress counts towards the last snapshot's size, the first towards the files' size", async () => {
  const dir = await mkdtemp(join(tmpdir(), "lifeboat-backup-progress-"));
  try {
    await mkdir(join(dir, "tree"));
    await writeFile(join(dir, "tree", "a.bin"), Buffer.alloc(100_000, 7));
    const { repository } = await newRepository();
    const totals: (number | undefined)[] = [];
    const progress: ProgressSink = { start: (_label, total) => totals.push(total), advance() {}, stop() {} };
    const context: OperationContext = {
      repository,
      engineFor,
      runner: processRunner,
      log: silentLogger,
      now: () => new Date(),
      hostname: hostname(),
      progress,
    };
    const source = { engine: "files" as const, path: join(dir, "tree") };
    const first = await backupSource(context, "tree", source);
    await backupSource(context, "tree", source);
    const size = first.snapshot.artifacts.reduce((sum, artifact) => sum + artifact.size, 0);
    assert.deepEqual(totals, [100_000, size]);
    await repository.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
