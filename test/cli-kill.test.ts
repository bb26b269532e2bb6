// kill -9 at every phase of a backup: the repository must still pass check,
// no half-finished snapshot may be listed, and the next backup must succeed
// (ARCHITECTURE.md faults 3 and 10: a stale lock of a dead process).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { cliPath, uploadsWorkspace, type workspace } from "./support/cli.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;
let ws: Workspace;

before(async () => {
  ws = await uploadsWorkspace(async (uploads) => {
    for (let i = 0; i < 12; i++)
      await writeFile(join(uploads, `file-${i}.bin`), randomBytes(3 * 1024 * 1024));
  });
});
after(() => ws.cleanup());

/** Start a backup and SIGKILL it after `delayMs` (a no-op if it already finished). */
async function killBackupAfter(delayMs: number): Promise<void> {
  const child = spawn(process.execPath, [cliPath, "-c", ws.configFile, "backup", "--json"], {
    env: { ...process.env, ...ws.env },
    stdio: "ignore",
  });
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  await sleep(delayMs);
  child.kill("SIGKILL");
  await exited;
}

async function snapshotCount(): Promise<number> {
  const list = await ws.cli(["snapshots", "--json"]);
  assert.equal(list.code, 0, list.stderr);
  return list.json.snapshots.length;
}

test("kill -9 at any point of a backup leaves a repository that passes check", async () => {
  const started = Date.now();
  const first = await ws.cli(["backup", "--json"]);
  assert.equal(first.code, 0, first.stderr);
  const fullMs = Date.now() - started;

  // Change every file so each killed run has real new chunks to write.
  let expected = await snapshotCount();
  for (const fraction of [0.05, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 1.0]) {
    for (let i = 0; i < 12; i += 3)
      await writeFile(join(ws.dir, "uploads", `file-${i}.bin`), randomBytes(3 * 1024 * 1024));
    await killBackupAfter(Math.round(fullMs * fraction));
    const count = await snapshotCount();
    // Either the backup committed before the kill (one more snapshot, which check below reads
    // in full) or it left no snapshot at all: never a partial one.
    assert.ok(
      count === expected || count === expected + 1,
      `snapshot count ${count}, expected ${expected} or one more`,
    );
    expected = count;
    const check = await ws.cli(["check", "--read-data", "--json"]);
    assert.equal(check.code, 0, `check after kill at ${fraction}: ${check.stdout}${check.stderr}`);
    assert.deepEqual(check.json.problems, []);
  }

  const next = await ws.cli(["backup", "--json"]);
  assert.equal(next.code, 0, `the next backup must succeed despite the dead process's lock: ${next.stderr}`);
  assert.equal(await snapshotCount(), expected + 1);
  const restore = await ws.cli(["restore", "uploads", "--to", join(ws.dir, "restored"), "--json"]);
  assert.equal(restore.code, 0, restore.stderr);
  assert.equal(restore.json.verified, true);
});
