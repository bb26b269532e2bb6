// Environment problems are the user's to fix, not Lifeboat bugs (issue #6,
// section 4): an unreadable source path is SOURCE_UNREACHABLE naming it, a
// full disk while restoring is TARGET_FULL with the old target untouched and
// no partial left, an unwritable target or scratch place TARGET_UNREACHABLE.
// Never INTERNAL. Real permissions (checked as the unprivileged user
// `nobody`, since root reads everything) and a real full filesystem (a
// 512 KiB tmpfs); both need root to set up and are skipped otherwise.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { filesEngine } from "../src/engines/files/index.ts";
import { sqliteEngine } from "../src/engines/sqlite/index.ts";
import type { EngineContext } from "../src/engines/engine.ts";
import { isLifeboatError } from "../src/errors.ts";
import { processRunner } from "../src/runtime/process.ts";
import { silentLogger } from "../src/runtime/logger.ts";
import { MemoryArtifacts } from "./support/memory-artifacts.ts";

const repo = join(import.meta.dirname, "..");
const isRoot = process.getuid?.() === 0;
let base: string;
let context: EngineContext;

before(async () => {
  base = await mkdtemp(join(tmpdir(), "lifeboat-env-errors-"));
  await chmod(base, 0o755); // `nobody` must reach what lies below
  await mkdir(join(base, "spool"));
  context = { runner: processRunner, log: silentLogger, tempDir: join(base, "spool") };
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Runs as `nobody`: each case prints one JSON line {name, code, message}. */
const asNobody = `
  const [repo, base] = process.argv.slice(1);
  const { filesEngine } = await import(repo + "/src/engines/files/index.ts");
  const { sqliteEngine } = await import(repo + "/src/engines/sqlite/index.ts");
  const { provisionLocalScratch } = await import(repo + "/src/engines/local-scratch.ts");
  const log = { debug() {}, info() {}, warn() {}, error() {} };
  const context = { log, tempDir: base + "/nobody-spool" };
  const sink = { async write(name, data) { for await (const _ of data); return { name, size: 0, sha256: "", chunks: [] }; } };
  const artifacts = { artifacts: [], open() { throw new Error("unused"); },
    async saveTo(_name, path) { const { writeFile } = await import("node:fs/promises"); await writeFile(path, "x"); } };
  const cases = {
    "locked directory": () => filesEngine.capture({ engine: "files", path: base + "/tree-dir" }, sink, context),
    "unreadable file": () => filesEngine.capture({ engine: "files", path: base + "/tree-file" }, sink, context),
    "unreadable sqlite": () => sqliteEngine.capture({ engine: "sqlite", path: base + "/locked.db" }, sink, context),
    "sqlite target": () => sqliteEngine.restore({ artifacts, engineMeta: {} }, base + "/root-only/app.db", {}, context),
    "files target": () => filesEngine.restore({ artifacts, engineMeta: {} }, base + "/root-only/uploads", {}, context),
    "scratch place": () => provisionLocalScratch(base + "/locked.db", false, { label: "x", allowSourceServer: false, target: { path: base + "/root-only/scratch" } }, "restored.db", "sqlite"),
    "read-only directories": async () => {
      const { readFileSync } = await import("node:fs");
      const { readdir } = await import("node:fs/promises");
      const { Readable } = await import("node:stream");
      const tree = { artifacts: [], open: () => Readable.from([readFileSync(base + "/ro-tree.tar")]) };
      const target = base + "/nobody-home/uploads";
      await filesEngine.restore({ artifacts: tree, engineMeta: {} }, target, {}, context);
      await filesEngine.restore({ artifacts: tree, engineMeta: {} }, target, { force: true }, context);
      const refuse = async () => { throw new Error("verification refused"); };
      const failed = await filesEngine.restore({ artifacts: tree, engineMeta: {}, verify: refuse }, target, { force: true }, context).catch((e) => e.message);
      return { failed, left: (await readdir(base + "/nobody-home")).sort(), kept: await readdir(target + "/ro") };
    },
  };
  for (const [name, run] of Object.entries(cases)) {
    try { const value = await run(); console.log(JSON.stringify({ name, code: "none", value })); }
    catch (error) { console.log(JSON.stringify({ name, code: error.code, message: error.message })); }
  }
`;

describe(
  "as an unprivileged user",
  { skip: !isRoot && "needs root to create files nobody cannot read" },
  () => {
    const results = new Map<string, { code: string; message: string }>();

    before(async () => {
      await mkdir(join(base, "nobody-spool"), { mode: 0o777 });
      await chmod(join(base, "nobody-spool"), 0o777);
      await mkdir(join(base, "tree-dir", "open"), { recursive: true });
      await writeFile(join(base, "tree-dir", "open", "a.txt"), "readable");
      await mkdir(join(base, "tree-dir", "locked"), { mode: 0o700 });
      await writeFile(join(base, "tree-dir", "locked", "b.txt"), "hidden");
      await mkdir(join(base, "tree-file"));
      await writeFile(join(base, "tree-file", "fine.txt"), "readable");
      // A raw (non-UTF-8) name: the error must name its exact bytes.
      const rawName = Buffer.concat([
        Buffer.from(join(base, "tree-file", "secret-caf")),
        Buffer.from([0xe9]),
      ]);
      await writeFile(rawName, "x", { mode: 0o600 });
      const db = new DatabaseSync(join(base, "locked.db"));
      db.exec("CREATE TABLE t (x)");
      db.close();
      await chmod(join(base, "locked.db"), 0o600);
      await mkdir(join(base, "root-only"), { mode: 0o755 });
      // A tree with a read-only directory, restored and replaced by a user who is not root.
      await mkdir(join(base, "ro-src", "ro"), { recursive: true });
      await writeFile(join(base, "ro-src", "ro", "inside.txt"), "in a 0555 directory");
      await chmod(join(base, "ro-src", "ro"), 0o555);
      const roTree = new MemoryArtifacts();
      await filesEngine.capture({ engine: "files", path: join(base, "ro-src") }, roTree, context);
      await writeFile(join(base, "ro-tree.tar"), roTree.stored.get("tree.tar")!);
      await mkdir(join(base, "nobody-home"));
      await chown(join(base, "nobody-home"), 65534, 65534);
      const run = spawnSync(
        "runuser",
        ["-u", "nobody", "--", process.execPath, "--input-type=module", "-e", asNobody, repo, base],
        { encoding: "utf8" },
      );
      assert.equal(run.status, 0, run.stderr);
      for (const line of run.stdout.trim().split("\n")) {
        const { name, ...result } = JSON.parse(line) as { name: string; code: string; message: string };
        results.set(name, result);
      }
    });

    test("an unreadable directory in the source tree is SOURCE_UNREACHABLE naming it", () => {
      const result = results.get("locked directory")!;
      assert.equal(result.code, "SOURCE_UNREACHABLE");
      assert.match(result.message, /tree-dir\/locked cannot be read: EACCES: permission denied/);
    });

    test("an unreadable file is SOURCE_UNREACHABLE naming its exact bytes", () => {
      const result = results.get("unreadable file")!;
      assert.equal(result.code, "SOURCE_UNREACHABLE");
      assert.ok(result.message.includes("tree-file/secret-caf\\xe9 cannot be read: EACCES"), result.message);
    });

    test("an unreadable SQLite source is SOURCE_UNREACHABLE", () => {
      assert.equal(results.get("unreadable sqlite")!.code, "SOURCE_UNREACHABLE");
    });

    test("a target directory the user cannot write is TARGET_UNREACHABLE, for sqlite and files", () => {
      for (const name of ["sqlite target", "files target"]) {
        const result = results.get(name)!;
        assert.equal(result.code, "TARGET_UNREACHABLE", `${name}: ${result.message}`);
        assert.match(result.message, /root-only/);
      }
    });

    test("as non-root, a tree with a read-only directory is replaced by --force and a refused one leaves no partial", () => {
      const result = results.get("read-only directories")! as unknown as {
        code: string;
        value: { failed: string; left: string[]; kept: string[] };
      };
      assert.equal(result.code, "none", JSON.stringify(result));
      assert.match(result.value.failed, /verification refused/);
      assert.deepEqual(result.value.left, ["uploads"], "no partial or set-aside old tree is left");
      assert.deepEqual(result.value.kept, ["inside.txt"]);
    });

    test("a drill scratch place the user cannot create is TARGET_UNREACHABLE", () => {
      const result = results.get("scratch place")!;
      assert.equal(result.code, "TARGET_UNREACHABLE", result.message);
      assert.match(result.message, /scratch place under .*root-only\/scratch/);
    });
  },
);

describe("restoring onto a full filesystem", () => {
  let full: string;
  let mounted = false;

  before(() => {
    full = join(base, "full");
    execFileSync("mkdir", [full]);
    mounted = isRoot && spawnSync("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", full]).status === 0;
  });
  after(() => {
    if (mounted) execFileSync("umount", [full]);
  });

  test("sqlite: TARGET_FULL, the old database byte-identical, no partial", async (t) => {
    if (!mounted) return t.skip("needs root to mount a small tmpfs");
    const sourcePath = join(base, "big.db");
    const db = new DatabaseSync(sourcePath);
    db.exec("CREATE TABLE t (x BLOB)");
    for (let i = 0; i < 100; i++) db.prepare("INSERT INTO t VALUES (?)").run(randomBytes(10_000));
    db.close();
    const artifacts = new MemoryArtifacts();
    const captured = await sqliteEngine.capture({ engine: "sqlite", path: sourcePath }, artifacts, context);
    await mkdir(join(full, "db"));
    const target = join(full, "db", "app.db");
    const old = new DatabaseSync(target);
    old.exec("CREATE TABLE old (y); INSERT INTO old VALUES ('keep me')");
    old.close();
    const before = await readFile(target);
    await assert.rejects(
      sqliteEngine.restore({ artifacts, engineMeta: captured.engineMeta }, target, { force: true }, context),
      (error) =>
        isLifeboatError(error, "TARGET_FULL") &&
        error.message.includes(target) &&
        /no space left/.test(error.message),
    );
    assert.deepEqual(await readFile(target), before);
    assert.deepEqual(await readdir(join(full, "db")), ["app.db"]);
  });

  test("files: TARGET_FULL, the old tree untouched, no partial", async (t) => {
    if (!mounted) return t.skip("needs root to mount a small tmpfs");
    const source = join(base, "big-tree");
    await mkdir(source);
    await writeFile(join(source, "small.txt"), "small");
    await writeFile(join(source, "big.bin"), randomBytes(1024 * 1024));
    const artifacts = new MemoryArtifacts();
    const captured = await filesEngine.capture({ engine: "files", path: source }, artifacts, context);
    const target = join(full, "uploads");
    await mkdir(target);
    await writeFile(join(target, "old.txt"), "keep me");
    await assert.rejects(
      filesEngine.restore({ artifacts, engineMeta: captured.engineMeta }, target, { force: true }, context),
      (error) => isLifeboatError(error, "TARGET_FULL") && error.message.includes(target),
    );
    assert.deepEqual(await readdir(target), ["old.txt"]);
    assert.equal(await readFile(join(target, "old.txt"), "utf8"), "keep me");
    assert.deepEqual(
      (await readdir(full)).filter((name) => name.includes("lifeboat")),
      [],
    );
  });
});
