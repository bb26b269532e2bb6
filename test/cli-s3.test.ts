// End to end through the real CLI with an s3:// repository on a real
// S3-compatible server (s3rver) behind a fault-injecting HTTP proxy: round
// trips of the sqlite, files and postgres engines, then backups and restores
// under injected faults. Under each fault a backup either completes or fails
// clearly with no snapshot listed; a restore succeeds or fails naming the
// object. Credentials reach Lifeboat as a user's would: AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY in its environment, never in lifeboat.yaml.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, beforeEach, describe, test } from "node:test";
import { S3Backend } from "../src/storage/s3.ts";
import { listAll } from "./support/backend-conformance.ts";
import { workspace } from "./support/cli.ts";
import { startFaultProxy, type FaultProxy } from "./support/fault-proxy.ts";
import { startCluster, type PgCluster } from "./support/pg-cluster.ts";
import { s3Environment, startS3Server, useS3Environment, type S3TestServer } from "./support/s3-server.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;

useS3Environment();
let server: S3TestServer;
let proxy: FaultProxy;
before(async () => {
  server = await startS3Server();
  proxy = await startFaultProxy(server.endpoint);
});
after(async () => {
  await proxy?.close();
  await server?.stop();
});

const repositoryBlock = (bucket: string, endpoint: string) => `repository:
  url: s3://${bucket}/prod
  endpoint: ${endpoint}
  region: us-east-1
  path_style: true
  password_env: LIFEBOAT_PASSWORD
`;

/** Rows that change the database, so the next backup has new chunks to upload. */
function addRows(path: string, count: number): void {
  const db = new DatabaseSync(path);
  const insert = db.prepare("INSERT INTO bookings (note) VALUES (?)");
  for (let i = 0; i < count; i++) insert.run(randomBytes(48).toString("base64"));
  db.close();
}

function rowCount(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  const count = Number(db.prepare("SELECT count(*) AS n FROM bookings").get()?.["n"]);
  db.close();
  return count;
}

describe("lifeboat CLI on an s3:// repository", () => {
  let ws: Workspace;
  let bucket: string;
  let direct: S3Backend;
  const outputs: string[] = [];
  const cli = async (args: readonly string[]) => {
    const result = await ws.cli(args, { ...s3Environment });
    outputs.push(result.stdout, result.stderr);
    return result;
  };
  const snapshotCount = async () => {
    const list = await cli(["snapshots", "--json"]);
    assert.equal(list.code, 0, list.stderr);
    return list.json.snapshots.length as number;
  };
  const objectsUnder = (bucketPath: string) => new RegExp(`^/${bucket}/prod/${bucketPath}`);

  before(async () => {
    bucket = await server.createBucket("cli");
    ws = await workspace(
      (dir) => `${repositoryBlock(bucket, proxy.endpoint)}sources:
  app-sqlite: { engine: sqlite, path: ${dir}/app.db }
  uploads: { engine: files, path: ${dir}/uploads }
`,
    );
    const db = new DatabaseSync(join(ws.dir, "app.db"));
    db.exec("CREATE TABLE bookings (id INTEGER PRIMARY KEY, note TEXT)");
    db.close();
    addRows(join(ws.dir, "app.db"), 3000);
    await mkdir(join(ws.dir, "uploads", "nested"), { recursive: true });
    await writeFile(join(ws.dir, "uploads", "big.bin"), randomBytes(3 * 1024 * 1024));
    await writeFile(join(ws.dir, "uploads", "nested", "note.txt"), "hello\n");
    direct = new S3Backend({ bucket, root: "prod/", endpoint: server.endpoint, pathStyle: true });
  });
  after(async () => {
    await direct?.close();
    await ws?.cleanup();
  });
  beforeEach(() => proxy.reset());

  test("init, backup, snapshots, restore and check round-trip both engines through S3", async () => {
    const init = await cli(["init", "--json"]);
    assert.equal(init.code, 0, init.stderr);
    assert.equal(init.json.repository, `s3://${bucket}/prod at ${proxy.endpoint}`);
    const again = await cli(["init", "--json"]);
    assert.equal(again.json.error.code, "REPOSITORY_EXISTS");

    const backup = await cli(["backup", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.equal(await snapshotCount(), 2);
    const keys = (await listAll(direct, "")).map((o) => o.key);
    for (const folder of ["config", "keys/", "data/", "snapshots/"]) {
      assert.ok(
        keys.some((key) => key.startsWith(folder)),
        `${folder} in the bucket under prod/`,
      );
    }
    assert.deepEqual(
      keys.filter((key) => key.startsWith("locks/")),
      [],
      "the lock is released",
    );

    const restoredDb = join(ws.dir, "restored.db");
    const db = await cli(["restore", "app-sqlite", "--to", restoredDb, "--json"]);
    assert.equal(db.code, 0, db.stderr);
    assert.equal(db.json.verified, true);
    assert.equal(rowCount(restoredDb), 3000);
    const files = await cli(["restore", "uploads", "--to", join(ws.dir, "restored-uploads"), "--json"]);
    assert.equal(files.code, 0, files.stderr);
    assert.deepEqual(
      await readFile(join(ws.dir, "restored-uploads", "big.bin")),
      await readFile(join(ws.dir, "uploads", "big.bin")),
    );
    const check = await cli(["check", "--read-data", "--json"]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal(check.json.ok, true);
  });

  test("transient 503s, 429s and slow replies during a backup: it completes", async () => {
    const before = await snapshotCount();
    addRows(join(ws.dir, "app.db"), 500);
    proxy.add({
      method: "PUT",
      path: objectsUnder("data/"),
      times: 2,
      fault: { kind: "status", status: 503 },
    });
    proxy.add({
      method: "PUT",
      path: objectsUnder("data/"),
      times: 1,
      fault: { kind: "status", status: 429, retryAfterSeconds: 1 },
    });
    proxy.add({
      method: "PUT",
      path: objectsUnder("snapshots/"),
      times: 1,
      fault: { kind: "status", status: 500 },
    });
    proxy.add({ method: "GET", times: 3, fault: { kind: "delay", ms: 300 } });
    const backup = await cli(["backup", "app-sqlite", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.ok(proxy.requests.filter((r) => r.fault === "status").length >= 4, "the faults were hit");
    assert.equal(await snapshotCount(), before + 1);
    const restored = join(ws.dir, "after-transient.db");
    const restore = await cli(["restore", "app-sqlite", "--to", restored, "--json"]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(rowCount(restored), rowCount(join(ws.dir, "app.db")));
  });

  const failingBackups: [string, Parameters<FaultProxy["add"]>[0]["fault"], string][] = [
    ["a store failing every chunk upload with 500", { kind: "status", status: 500 }, "data/"],
    ["uploads the store keeps only half of, answering 200", { kind: "short-upload" }, "data/"],
    ["a manifest put answered 200 with an XML error", { kind: "error-in-200" }, "snapshots/"],
    ["chunk uploads refused with 403", { kind: "status", status: 403 }, "data/"],
  ];
  for (const [what, fault, folder] of failingBackups) {
    test(`${what}: the backup fails clearly and no snapshot is listed`, async () => {
      const before = await snapshotCount();
      await writeFile(
        join(ws.dir, "uploads", `new-${randomBytes(4).toString("hex")}.bin`),
        randomBytes(200_000),
      );
      proxy.add({ method: "PUT", path: objectsUnder(folder), fault });
      const backup = await cli(["backup", "uploads", "--json"]);
      proxy.reset();
      assert.notEqual(backup.code, 0, "the backup must not report success");
      assert.deepEqual(backup.json.snapshots, []);
      const [failure] = backup.json.failures;
      assert.equal(failure.source, "uploads");
      assert.equal(failure.error.code, "STORAGE_ERROR", backup.stdout);
      assert.match(failure.error.message, new RegExp(`put ${folder}[0-9a-f]`), "the error names the object");
      assert.equal(await snapshotCount(), before, "no snapshot is listed");
      assert.deepEqual((await listAll(direct, "snapshots/")).length, before, "no manifest is stored");
      // The next run, with the store healthy again, succeeds.
      const retry = await cli(["backup", "uploads", "--json"]);
      assert.equal(retry.code, 0, retry.stderr);
    });
  }

  test("a restore whose reads are reset mid-body once succeeds", async () => {
    proxy.add({ method: "GET", path: objectsUnder("data/"), times: 2, fault: { kind: "reset-mid-body" } });
    const target = join(ws.dir, "after-reset.db");
    const restore = await cli(["restore", "app-sqlite", "--to", target, "--json"]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(restore.json.verified, true);
    assert.equal(proxy.requests.filter((r) => r.fault === "reset-mid-body").length, 2);
  });

  test("a restore whose chunk bodies always arrive truncated fails naming the object, leaving no target", async () => {
    proxy.add({ method: "GET", path: objectsUnder("data/"), fault: { kind: "truncate-body" } });
    const target = join(ws.dir, "never.db");
    const restore = await cli(["restore", "app-sqlite", "--to", target, "--json"]);
    assert.equal(restore.code, 3, restore.stdout + restore.stderr);
    assert.equal(restore.json.error.code, "STORAGE_ERROR");
    assert.match(restore.json.error.message, /get data\/[0-9a-f]{2}\/[0-9a-f]{64}/);
    assert.match(restore.json.error.message, /transfer cut short|aborted|ECONNRESET|socket/i);
    assert.equal(existsSync(target), false);
  });

  test("after every fault the repository is whole: check --read-data passes and no lock is left", async () => {
    const check = await cli(["check", "--read-data", "--json"]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal(check.json.ok, true);
    assert.deepEqual(await listAll(direct, "locks/"), []);
  });

  test("the secret key never appears in any output", () => {
    for (const output of outputs) assert.ok(!output.includes(s3Environment.AWS_SECRET_ACCESS_KEY), output);
  });
});

describe("lifeboat CLI: s3:// configuration", () => {
  test("endpoint, region and path_style are refused for file:// repositories; credentials in the URL are refused", async () => {
    const fileWs = await workspace(
      (dir) =>
        `repository: { url: "file://${dir}/repo", endpoint: "http://127.0.0.1:9", path_style: true, password_env: LIFEBOAT_PASSWORD }\n`,
    );
    const credentialsWs = await workspace(
      () =>
        `repository: { url: "s3://AKIAEXAMPLE:wJalrXUtnFEMI-secret@bucket/prod", password_env: LIFEBOAT_PASSWORD }\n`,
    );
    try {
      const file = await fileWs.cli(["snapshots", "--json"]);
      assert.equal(file.code, 2);
      assert.match(file.stdout + file.stderr, /repository\.endpoint/);
      assert.match(file.stdout + file.stderr, /repository\.path_style/);
      const credentials = await credentialsWs.cli(["init", "--json"], { ...s3Environment });
      assert.equal(credentials.code, 2);
      assert.equal(credentials.json.error.code, "BAD_CONFIG");
      assert.match(credentials.json.error.message, /credentials never go in lifeboat.yaml/);
      assert.ok(!(credentials.stdout + credentials.stderr).includes("wJalrXUtnFEMI-secret"));
    } finally {
      await fileWs.cleanup();
      await credentialsWs.cleanup();
    }
  });
});

describe("lifeboat CLI: PostgreSQL through S3", () => {
  let cluster: PgCluster;
  let ws: Workspace;

  before(async () => {
    cluster = await startCluster();
    await cluster.psql("CREATE DATABASE app");
    await cluster.psql(
      `CREATE TABLE bookings (id serial PRIMARY KEY, note text);
       INSERT INTO bookings (note) SELECT 'booking ' || g FROM generate_series(1, 4000) g;`,
      "app",
    );
    const bucket = await server.createBucket("pg");
    ws = await workspace(
      () => `${repositoryBlock(bucket, server.endpoint)}sources:
  app-db: { engine: postgres, url: "${cluster.url("app")}" }
`,
    );
  });
  after(async () => {
    await ws?.cleanup();
    await cluster?.stop();
  });

  test("backup, then restore into a new database, verified", async () => {
    const env = { ...s3Environment };
    assert.equal((await ws.cli(["init"], env)).code, 0);
    const backup = await ws.cli(["backup", "app-db", "--json"], env);
    assert.equal(backup.code, 0, backup.stderr);
    assert.equal(backup.json.snapshots[0].fingerprint.counts["rows:public.bookings"], 4000);
    const restore = await ws.cli(["restore", "app-db", "--to", cluster.url("app_restored"), "--json"], env);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(restore.json.verified, true);
    assert.equal(await cluster.psql("SELECT count(*) FROM bookings", "app_restored"), "4000");
  });
});
