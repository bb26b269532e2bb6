// A restore killed with SIGKILL (fault 4, issue #6 section 3): the target is
// untouched and cannot be mistaken for a complete one, and the next restore
// into the same target removes what the dead process left (its pid and host
// are in the names) with a log line, but never a live restore's partial, nor
// one it cannot attribute. Real child processes, real kills, real files.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { filesEngine } from "../src/engines/files/index.ts";
import { sqliteEngine } from "../src/engines/sqlite/index.ts";
import type { EngineContext } from "../src/engines/engine.ts";
import type { Logger } from "../src/runtime/logger.ts";
import { processRunner } from "../src/runtime/process.ts";
import { MemoryArtifacts } from "./support/memory-artifacts.ts";

const repo = join(import.meta.dirname, "..");
let base: string;
const lines: string[] = [];
const log: Logger = {
  debug() {},
  info: (message) => lines.push(`info ${message}`),
  warn: (message) => lines.push(`warn ${message}`),
  error() {},
};
let context: EngineContext;
const children: ChildProcess[] = [];

before(async () => {
  base = await mkdtemp(join(tmpdir(), "lifeboat-leftovers-"));
  await mkdir(join(base, "spool"));
  context = { runner: processRunner, log, tempDir: join(base, "spool") };
});
after(async () => {
  for (const child of children) child.kill("SIGKILL");
  await rm(base, { recursive: true, force: true });
});

/**
 * A child process that restores `artifact` (a file) with `engine` into `target` through an
 * artifact source that delivers half the bytes and then stalls, printing "stalled".
 */
const stallingRestore = `
  import { readFileSync, writeFileSync } from "node:fs";
  import { Readable } from "node:stream";
  const [repo, engineName, artifactName, artifactFile, target, force] = process.argv.slice(1);
  const { filesEngine } = await import(repo + "/src/engines/files/index.ts");
  const { sqliteEngine } = await import(repo + "/src/engines/sqlite/index.ts");
  const engine = engineName === "files" ? filesEngine : sqliteEngine;
  const bytes = readFileSync(artifactFile);
  const half = bytes.subarray(0, Math.floor(bytes.length / 2));
  const forever = () => new Promise(() => setInterval(() => {}, 1000));
  const artifacts = {
    artifacts: [],
    open: () => Readable.from((async function* () { yield half; console.log("stalled"); await forever(); })()),
    saveTo: async (_name, path) => { writeFileSync(path, half); console.log("stalled"); await forever(); },
  };
  const log = { debug() {}, info() {}, warn() {}, error() {} };
  await engine.restore({ artifacts, engineMeta: {} }, target, { force: force === "force" }, { log, tempDir: "/tmp" });
`;

/** Kill a child restore once it stalled (and, if given, once `ready()` holds: it has written something). */
async function killMidRestore(
  engine: string,
  artifact: Buffer,
  target: string,
  force = false,
  ready: () => Promise<boolean> = async () => true,
): Promise<number> {
  const file = join(base, `${engine}-artifact`);
  await writeFile(file, artifact);
  const child = spawn(
    process.execPath,
    ["--input-type=module", "-e", stallingRestore, repo, engine, "x", file, target, force ? "force" : ""],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (text: Buffer) => text.toString().includes("stalled") && resolve());
    child.on("exit", (code) => reject(new Error(`the restore child exited early (${code})`)));
  });
  for (let tries = 0; !(await ready()) && tries < 100; tries++) await new Promise((r) => setTimeout(r, 50));
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.kill("SIGKILL");
  await exited;
  return child.pid!;
}

/** A process that stays alive for the test: its pid makes a partial "live". */
function liveProcess(): number {
  const sleeper = spawn("sleep", ["600"], { stdio: "ignore" });
  children.push(sleeper);
  return sleeper.pid!;
}

describe("files: leftovers of a killed restore", () => {
  test("are removed by the next restore into the same target; live and foreign ones are kept", async () => {
    const source = join(base, "tree");
    await mkdir(join(source, "sub"), { recursive: true });
    for (let i = 0; i < 50; i++)
      await writeFile(join(source, "sub", `file-${i}`), `content ${i}\n`.repeat(500));
    const artifacts = new MemoryArtifacts();
    const captured = await filesEngine.capture({ engine: "files", path: source }, artifacts, context);
    const parent = join(base, "files-parent");
    await mkdir(parent);
    const target = join(parent, "uploads");

    const wroteFiles = async () => {
      const [name] = await readdir(parent);
      return name !== undefined && (await readdir(join(parent, name, "sub")).catch(() => [])).length > 0;
    };
    const deadPid = await killMidRestore(
      "files",
      artifacts.stored.get("tree.tar")!,
      target,
      false,
      wroteFiles,
    );
    const [partial, ...others] = await readdir(parent);
    assert.deepEqual(others, [], "the target never appeared");
    assert.match(partial!, new RegExp(`^uploads\\.lifeboat-partial-[0-9a-f]{8}-${deadPid}-[0-9a-f]{12}$`));
    assert.ok(
      (await readdir(join(parent, partial!, "sub"))).length > 0,
      "the killed restore had written files",
    );

    const live = partial!.replace(`-${deadPid}-`, `-${liveProcess()}-`);
    const foreign = partial!.replace(/partial-[0-9a-f]{8}-/, "partial-00000000-");
    const pre = "uploads.lifeboat-partial-0123456789ab"; // a name from before pids were recorded
    const oldTree = partial!.replace("partial", "old");
    for (const name of [live, foreign, pre, oldTree]) await mkdir(join(parent, name));

    lines.length = 0;
    await filesEngine.restore({ artifacts, engineMeta: captured.engineMeta }, target, {}, context);
    assert.deepEqual((await readdir(parent)).sort(), [foreign, live, oldTree, "uploads", pre].sort());
    assert.ok(
      lines.some((line) => line.startsWith("info") && line.includes(partial!) && line.includes(`${deadPid}`)),
    );
    assert.ok(lines.some((line) => line.startsWith("warn") && line.includes(foreign)));
    assert.ok(lines.some((line) => line.startsWith("warn") && line.includes(pre)));
    // The target did not exist: the set-aside tree of a dead swap is the only copy, so it is reported, not deleted.
    assert.ok(
      lines.some((line) => line.startsWith("warn") && line.includes(oldTree) && /move it back/.test(line)),
    );
    assert.ok(!lines.some((line) => line.includes(live)), "a live restore's partial is not even mentioned");

    // Now the target exists: the dead swap completed, so its set-aside old tree is garbage.
    lines.length = 0;
    await filesEngine.restore(
      { artifacts, engineMeta: captured.engineMeta },
      target,
      { force: true },
      context,
    );
    assert.deepEqual((await readdir(parent)).sort(), [foreign, live, "uploads", pre].sort());
    assert.ok(lines.some((line) => line.startsWith("info") && line.includes(oldTree)));
    assert.equal(await readFile(join(target, "sub", "file-7"), "utf8"), "content 7\n".repeat(500));
  });
});

describe("sqlite: leftovers of a killed restore", () => {
  test("the old database is untouched; the next restore removes the dead partial and its side files", async () => {
    const sourcePath = join(base, "source.db");
    const db = new DatabaseSync(sourcePath);
    db.exec("CREATE TABLE t (x BLOB)");
    for (let i = 0; i < 200; i++) db.prepare("INSERT INTO t VALUES (randomblob(1000))").run();
    db.close();
    const artifacts = new MemoryArtifacts();
    const captured = await sqliteEngine.capture({ engine: "sqlite", path: sourcePath }, artifacts, context);
    const parent = join(base, "sqlite-parent");
    await mkdir(parent);
    const target = join(parent, "app.db");
    const old = new DatabaseSync(target);
    old.exec("CREATE TABLE old (y); INSERT INTO old VALUES ('keep me')");
    old.close();
    const before = await readFile(target);

    const deadPid = await killMidRestore("sqlite", artifacts.stored.get("database.sqlite")!, target, true);
    assert.deepEqual(await readFile(target), before, "the killed restore never touched the target");
    const partial = (await readdir(parent)).find((name) => name !== "app.db")!;
    assert.match(partial, new RegExp(`^\\.app\\.db\\.lifeboat-partial-[0-9a-f]{8}-${deadPid}-[0-9a-f]{12}$`));
    // What a killed process may also leave under the same name: SQLite's journal, the repository's temp file.
    await writeFile(join(parent, `${partial}-journal`), "j");
    await writeFile(join(parent, `${partial}.lifeboat-partial-89abcdef`), "t");
    const live = partial.replace(`-${deadPid}-`, `-${liveProcess()}-`);
    await writeFile(join(parent, live), "a live restore's partial");

    lines.length = 0;
    await sqliteEngine.restore(
      { artifacts, engineMeta: captured.engineMeta },
      target,
      { force: true },
      context,
    );
    assert.deepEqual((await readdir(parent)).sort(), [live, "app.db"].sort());
    assert.equal(lines.filter((line) => line.startsWith("info") && line.includes(`${deadPid}`)).length, 3);
    const restored = new DatabaseSync(target, { readOnly: true });
    assert.equal((restored.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n, 200);
    restored.close();
  });
});
