// The one restore-and-verify pipeline: a restore whose data does not match
// the snapshot's fingerprint is discarded before it replaces anything, for
// every engine with an atomic swap (faults 1 and 12: the final target is
// untouched). Real SQLite files, real directory trees and a real PostgreSQL.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, it } from "node:test";
import type { Fingerprint } from "../src/domain/fingerprint.ts";
import type { Snapshot } from "../src/domain/snapshot.ts";
import type { Engine, EngineContext } from "../src/engines/engine.ts";
import { engineFor } from "../src/engines/registry.ts";
import { isLifeboatError } from "../src/errors.ts";
import { restoreAndVerify } from "../src/operations/restore-and-verify.ts";
import { silentLogger } from "../src/runtime/logger.ts";
import { processRunner } from "../src/runtime/process.ts";
import { MemoryArtifacts } from "./support/memory-artifacts.ts";
import { startCluster, type PgCluster } from "./support/pg-cluster.ts";

let base: string;
let pg: PgCluster;
const context = (): EngineContext => ({ runner: processRunner, log: silentLogger, tempDir: base });

before(async () => {
  base = await mkdtemp(join(tmpdir(), "lifeboat-verify-swap-"));
  pg = await startCluster();
});
after(async () => {
  await pg?.stop();
  await rm(base, { recursive: true, force: true });
});

/** Capture `source`, then claim one more row/file than was captured: the restore cannot match. */
async function lyingSnapshot(engine: Engine, source: { engine: string; [field: string]: unknown }) {
  const artifacts = new MemoryArtifacts();
  const captured = await engine.capture(source, artifacts, context());
  const counts = { ...captured.fingerprint.counts };
  const key = Object.keys(counts).find((name) => name.startsWith("rows:")) ?? "files";
  counts[key] = (counts[key] ?? 0) + 1;
  const fingerprint: Fingerprint = { counts, hashes: captured.fingerprint.hashes };
  const snapshot: Snapshot = {
    id: "0".repeat(64),
    source: "s",
    engine: engine.name,
    startedAt: captured.consistentAt,
    finishedAt: captured.consistentAt,
    consistentAt: captured.consistentAt,
    hostname: "test",
    lifeboatVersion: "test",
    artifacts: artifacts.artifacts,
    engineMeta: captured.engineMeta,
    fingerprint,
    tags: [],
  };
  return { snapshot, artifacts, key, truth: captured.fingerprint };
}

async function rejectsWithMismatch(promise: Promise<unknown>, key: string) {
  await assert.rejects(promise, (error) => {
    assert.ok(isLifeboatError(error, "VERIFICATION_FAILED"), String(error));
    assert.match(error.message, new RegExp(key.replace(/[.*]/g, "\\$&")));
    assert.match(error.message, /discarded and the target left as it was/);
    return true;
  });
}

/** Restore-and-verify `input` and expect it to fail on `key`, with the target left alone. */
async function restoreRejectsWithMismatch(
  input: Omit<Parameters<typeof restoreAndVerify>[0], "context" | "now">,
  key: string,
) {
  await rejectsWithMismatch(restoreAndVerify({ ...input, context: context(), now: Date.now }), key);
}

const sha = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

describe("a restore that fails verification never replaces the target", () => {
  it("sqlite: the old database file stays byte-identical and no partial remains", async () => {
    const engine = engineFor("sqlite");
    const sourcePath = join(base, "source.db");
    const db = new DatabaseSync(sourcePath);
    db.exec("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2)");
    db.close();
    const { snapshot, artifacts, key } = await lyingSnapshot(engine, { engine: "sqlite", path: sourcePath });
    const dir = join(base, "sqlite-target");
    await mkdir(dir);
    const target = join(dir, "app.db");
    const old = new DatabaseSync(target);
    old.exec("CREATE TABLE old(y); INSERT INTO old VALUES ('keep me')");
    old.close();
    const before = await sha(target);
    await restoreRejectsWithMismatch({ engine, snapshot, artifacts, target, options: { force: true } }, key);
    assert.equal(await sha(target), before);
    assert.deepEqual(await readdir(dir), ["app.db"]);
  });

  it("files: the old tree stays and no partial directory remains", async () => {
    const engine = engineFor("files");
    const sourcePath = join(base, "tree");
    await mkdir(join(sourcePath, "sub"), { recursive: true });
    await writeFile(join(sourcePath, "sub", "a.txt"), "new data");
    const { snapshot, artifacts, key } = await lyingSnapshot(engine, { engine: "files", path: sourcePath });
    const parent = join(base, "files-target");
    const target = join(parent, "uploads");
    await mkdir(target, { recursive: true });
    await writeFile(join(target, "old.txt"), "keep me");
    await restoreRejectsWithMismatch({ engine, snapshot, artifacts, target, options: { force: true } }, key);
    assert.deepEqual(await readdir(target), ["old.txt"]);
    assert.equal(await readFile(join(target, "old.txt"), "utf8"), "keep me");
    assert.deepEqual(await readdir(parent), ["uploads"]);
  });

  it("postgres: the old database keeps its data and the partial database is dropped", async () => {
    const engine = engineFor("postgres");
    await pg.psql("CREATE DATABASE verify_src");
    await pg.psql("CREATE TABLE t(x int); INSERT INTO t VALUES (1), (2), (3)", "verify_src");
    await pg.psql("CREATE DATABASE verify_dst");
    await pg.psql("CREATE TABLE old(y text); INSERT INTO old VALUES ('keep me')", "verify_dst");
    const { snapshot, artifacts, key } = await lyingSnapshot(engine, {
      engine: "postgres",
      url: pg.url("verify_src"),
      globals: false,
      jobs: 1,
    });
    const target = pg.url("verify_dst");
    await restoreRejectsWithMismatch({ engine, snapshot, artifacts, target, options: { clean: true } }, key);
    assert.equal(await pg.psql("SELECT y FROM old", "verify_dst"), "keep me");
    const leftovers = await pg.psql(
      "SELECT count(*) FROM pg_database WHERE datname LIKE 'verify_dst%partial%'",
    );
    assert.equal(leftovers, "0");
  });

  it("a matching restore reports fetch, restore and verify phases", async () => {
    const engine = engineFor("sqlite");
    const sourcePath = join(base, "ok.db");
    const db = new DatabaseSync(sourcePath);
    db.exec("CREATE TABLE t(x); INSERT INTO t VALUES (1)");
    db.close();
    const lying = await lyingSnapshot(engine, { engine: "sqlite", path: sourcePath });
    const snapshot = { ...lying.snapshot, fingerprint: lying.truth };
    const artifacts = lying.artifacts;
    const seen: string[] = [];
    const result = await restoreAndVerify({
      engine,
      snapshot,
      artifacts,
      target: join(base, "ok-restored.db"),
      options: {},
      context: context(),
      now: Date.now,
      onPhase: (phase) => seen.push(phase),
    });
    assert.deepEqual(Object.keys(result.phases).sort(), ["fetch", "restore", "verify"]);
    assert.deepEqual(seen, ["restore", "verify", "restore"]);
    assert.equal(result.fingerprint.counts["rows:t"], 1);
  });
});
