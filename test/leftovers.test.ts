// Decrypted spools never outlive their run (issue #6 §3): a temporary folder
// made by withTempDir is removed on every exit path a process can take, and
// one left by a kill -9 is removed by the next Lifeboat command, `unlock` and
// `check`, which report it. A live process's spool, another host's, and one
// whose owner cannot be proved gone are never touched.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import { hostTag, SPOOL_GRACE_MS, sweepSpools } from "../src/operations/temp-dir.ts";
import { workspace } from "./support/cli.ts";

const tempDirModule = pathToFileURL(join(import.meta.dirname, "..", "src", "operations", "temp-dir.ts")).href;
const SPOOL_BYTES = 1024 * 1024;

/**
 * A child process that makes a spool holding 1 MiB, prints its path, then
 * does `then` (hang, throw, process.exit, ...). Resolves with the path once printed.
 */
function spoolingChild(root: string, then: string) {
  const script = `
    import { writeFileSync } from "node:fs";
    import { withTempDir } from ${JSON.stringify(tempDirModule)};
    process.on("SIGTERM", () => process.exit(130)); // what main.ts does on a second signal
    await withTempDir("restore", async (dir) => {
      writeFileSync(dir + "/dump", Buffer.alloc(${SPOOL_BYTES}, 1));
      console.log(dir);
      ${then}
    }).catch(() => process.exit(7));
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...process.env, LIFEBOAT_TMPDIR: root },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const path = new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(out.trim());
    });
    child.on("error", reject);
    child.on("exit", () => reject(new Error("child exited before making its spool")));
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, path, exited };
}

const HANG = "setInterval(() => {}, 1000); await new Promise(() => {});";

async function age(path: string, ms = SPOOL_GRACE_MS + 60_000): Promise<void> {
  const then = new Date(Date.now() - ms);
  await utimes(path, then, then);
}

async function killedSpool(root: string): Promise<string> {
  const { child, path, exited } = spoolingChild(root, HANG);
  const dir = await path;
  child.kill("SIGKILL");
  await exited;
  assert.ok(existsSync(dir), "a kill -9 leaves the spool behind");
  await age(dir);
  return dir;
}

describe("spools are removed on every exit path", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "lifeboat-spools-"));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  for (const [label, then, code] of [
    ["the run returns", "", 0],
    ["the run throws", "throw new Error('engine failed');", 7],
    ["process.exit() inside the run", "process.exit(3);", 3],
  ] as const) {
    test(label, async () => {
      const { path, exited } = spoolingChild(root, then);
      const dir = await path;
      assert.equal(await exited, code);
      assert.equal(existsSync(dir), false, `${dir} survived`);
    });
  }

  test("SIGTERM ending the process through process.exit", async () => {
    const { child, path, exited } = spoolingChild(root, HANG);
    const dir = await path;
    child.kill("SIGTERM");
    assert.equal(await exited, 130);
    assert.equal(existsSync(dir), false, `${dir} survived`);
  });

  test("a spool's name proves its owner: kind, host tag and pid", async () => {
    const { child, path, exited } = spoolingChild(root, HANG);
    const dir = await path;
    assert.match(dir, new RegExp(`/lifeboat-restore-h${hostTag()}-p${child.pid}-[A-Za-z0-9]{6}$`));
    child.kill("SIGTERM");
    await exited;
  });
});

describe("leftover spools of killed runs are swept", () => {
  let ws: Awaited<ReturnType<typeof workspace>>;
  let root: string;
  const cli = (args: readonly string[]) => ws.cli(args, { LIFEBOAT_TMPDIR: root });

  before(async () => {
    ws = await workspace(
      (dir) => `repository:
  url: file://${dir}/repo
  password_env: LIFEBOAT_PASSWORD
sources:
  uploads: { engine: files, path: ${dir}/uploads }
`,
    );
    root = join(ws.dir, "spools"); // its own folder: the workspace's tmp/ holds its CLI runs' spools
    await mkdir(root);
    const init = await ws.cli(["init"]);
    assert.equal(init.code, 0, init.stderr);
  });
  after(async () => {
    await ws?.cleanup();
  });

  test("the next repository command removes a killed run's spool, and nothing that is not provably dead", async () => {
    const killed = await killedSpool(root);
    const fresh = await killedSpool(root);
    await age(fresh, 1000); // dead, but within the grace period
    const live = spoolingChild(root, HANG);
    const liveDir = await live.path;
    await age(liveDir);
    const otherHost = join(root, `lifeboat-restore-h${hostTag("another-host")}-p999999-abcdef`);
    const legacy = join(root, "lifeboat-restore-Xy12Zw");
    for (const dir of [otherHost, legacy]) {
      await mkdir(dir);
      await age(dir);
    }
    try {
      const list = await cli(["snapshots", "--json"]);
      assert.equal(list.code, 0, list.stderr);
      assert.equal(existsSync(killed), false, "the killed run's spool is gone");
      for (const kept of [fresh, liveDir, otherHost, legacy])
        assert.ok(existsSync(kept), `${kept} was removed`);
    } finally {
      live.child.kill("SIGKILL");
      await live.exited;
    }
    // Tidy up for the next tests: the live child is dead now, its spool a plain leftover.
    for (const dir of [fresh, liveDir]) await rm(dir, { recursive: true, force: true });
  });

  test("unlock and check report how many spools they removed and how much they held", async () => {
    for (const command of [["unlock"], ["check"]]) {
      await killedSpool(root);
      const result = await cli([...command, "--json"]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.equal(result.json.spools.removed, 1);
      assert.ok(result.json.spools.bytesRemoved >= SPOOL_BYTES);
      // The old-style spool is reported, never removed.
      assert.deepEqual(result.json.spools.unprovable, [join(root, "lifeboat-restore-Xy12Zw")]);
    }
    const text = await cli(["unlock"]);
    assert.match(text.stdout, /left alone 1 old temporary folder/);
  });

  test("sweepSpools never fails on a missing folder", async () => {
    assert.deepEqual(await sweepSpools({ root: join(root, "does-not-exist") }), {
      removed: 0,
      bytesRemoved: 0,
      unprovable: [],
    });
    assert.ok((await readdir(root)).length >= 1);
    await writeFile(join(root, "lifeboat-not-a-spool"), "");
    assert.equal((await sweepSpools({ root, graceMs: 0 })).removed, 0);
  });
});
