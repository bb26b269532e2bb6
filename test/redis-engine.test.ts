// The redis engine against real redis-server processes: every type and
// encoding, TTLs, several databases, streams with consumer groups and
// functions round-trip exactly (DUMP of every key compared); restores into a
// server and into a directory; the faults of ARCHITECTURE.md that apply.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { compareFingerprints } from "../src/domain/fingerprint.ts";
import { isLifeboatError } from "../src/errors.ts";
import type { Fingerprint } from "../src/domain/fingerprint.ts";
import type { RestoreInput } from "../src/engines/engine.ts";
import { redisEngine } from "../src/engines/redis/index.ts";
import { readRdbSummary } from "../src/engines/redis/rdb-reader.ts";
import type { RedisSourceConfig } from "../src/engines/redis/config.ts";
import { engineWorkdir } from "./support/engine-workdir.ts";
import { CorruptArtifacts, MemoryArtifacts } from "./support/memory-artifacts.ts";
import { startRedis, type TestRedis } from "./support/redis-server.ts";

const workdir = engineWorkdir("redis");

type Client = Awaited<ReturnType<TestRedis["client"]>>;

function sourceOf(server: TestRedis, extra: Partial<RedisSourceConfig> = {}): RedisSourceConfig {
  return { engine: "redis", url: server.url, sync_delay: "lower", ...extra } as RedisSourceConfig;
}

/** Every kind of value Redis stores, in small (listpack/intset) and large (hashtable, quicklist) encodings. */
async function populate(client: Client): Promise<void> {
  await client.sendCommand(["SELECT", "0"]);
  await client.sendCommand(["SET", "plain", "hello"]);
  await client.sendCommand(["SET", "number", "12345"]);
  await client.sendCommand(["SET", "unicode", "Zoë 日本 🚀"]);
  await client.sendCommand(["SET", "long", "x".repeat(20_000)]); // LZF-compressed in the RDB
  await client.sendCommand(["SET", "binary", Buffer.from([0, 1, 2, 255, 13, 10]) as unknown as string]);
  await client.sendCommand(["SET", "feature:123", "0.75"]);
  await client.sendCommand(["SET", "session:abc", "alive", "EX", "86400"]);
  await client.sendCommand(["SET", "expiring-soon", "gone", "PX", "300"]);
  await client.sendCommand(["HSET", "small-hash", "a", "1", "b", "two"]);
  const big: string[] = [];
  for (let i = 0; i < 600; i++) big.push(`field${i}`, `value ${i} ${"v".repeat(i % 80)}`);
  await client.sendCommand(["HSET", "big-hash", ...big]);
  await client.sendCommand(["RPUSH", "small-list", "a", "b", "c"]);
  await client.sendCommand(["RPUSH", "big-list", ...Array.from({ length: 5000 }, (_, i) => `item-${i}`)]);
  await client.sendCommand(["SADD", "int-set", "1", "2", "3", "1000000"]);
  await client.sendCommand(["SADD", "small-set", "x", "y"]);
  await client.sendCommand(["SADD", "big-set", ...Array.from({ length: 700 }, (_, i) => `member-${i}`)]);
  await client.sendCommand(["ZADD", "small-zset", "1", "one", "2.5", "two-and-half", "-inf", "bottom"]);
  const zmembers: string[] = [];
  for (let i = 0; i < 300; i++) zmembers.push(String(i / 7), `z${i}`);
  await client.sendCommand(["ZADD", "big-zset", ...zmembers]);
  for (let i = 0; i < 40; i++)
    await client.sendCommand(["XADD", "events", "*", "n", String(i), "kind", i % 2 ? "odd" : "even"]);
  await client.sendCommand(["XGROUP", "CREATE", "events", "workers", "0"]);
  await client.sendCommand([
    "XREADGROUP",
    "GROUP",
    "workers",
    "alice",
    "COUNT",
    "5",
    "STREAMS",
    "events",
    ">",
  ]);
  await client.sendCommand(["XGROUP", "CREATE", "events", "audit", "$"]);
  await client.sendCommand([
    "FUNCTION",
    "LOAD",
    "#!lua name=lifeboat_test\nredis.register_function('hello', function() return 'hi' end)",
  ]);
  await client.sendCommand(["SELECT", "3"]);
  await client.sendCommand(["SET", "in-db-3", "three", "EX", "100000"]);
  await client.sendCommand(["HSET", "h3", "k", "v"]);
  await client.sendCommand(["SELECT", "0"]);
  await new Promise((resolve) => setTimeout(resolve, 400)); // expiring-soon is gone now
}

/** What one key holds, read by its type: the value in a canonical order, its encoding and whether it expires. */
async function valueOf(client: Client, key: string): Promise<string> {
  const type = String(await client.sendCommand(["TYPE", key]));
  const encoding = String(await client.sendCommand(["OBJECT", "ENCODING", key]));
  const ttl = Number(await client.sendCommand(["PTTL", key]));
  const sorted = (reply: unknown) => [...(reply as string[])].sort();
  const read: Record<string, () => Promise<unknown>> = {
    // DUMP is byte-exact for strings (no iteration order involved), binary values included.
    string: async () =>
      Buffer.from(
        (await client.sendCommand(["DUMP", key], { typeMapping: { 36: Buffer } } as never)) as Buffer,
      ).toString("hex"),
    hash: async () => {
      const flat = (await client.sendCommand(["HGETALL", key])) as string[];
      const pairs: string[] = [];
      for (let i = 0; i < flat.length; i += 2) pairs.push(`${flat[i]}=${flat[i + 1]}`);
      return pairs.sort();
    },
    list: () => client.sendCommand(["LRANGE", key, "0", "-1"]),
    set: async () => sorted(await client.sendCommand(["SMEMBERS", key])),
    zset: () => client.sendCommand(["ZRANGE", key, "0", "-1", "WITHSCORES"]),
    stream: async () => [
      await client.sendCommand(["XRANGE", key, "-", "+"]),
      await client.sendCommand(["XINFO", "GROUPS", key]),
      // Pending entries without their idle time, which grows by the millisecond.
      ((await client.sendCommand(["XPENDING", key, "workers", "-", "+", "100"])) as unknown[][]).map(
        ([id, consumer, , deliveries]) => [id, consumer, deliveries],
      ),
    ],
  };
  const value = await (read[type] ?? (async () => `unknown type ${type}`))();
  return JSON.stringify({ type, encoding, ttl: ttl < 0 ? ttl : "set", value });
}

/** Every key of every database, read by type, plus the function libraries. */
async function contents(client: Client): Promise<Map<string, string>> {
  const all = new Map<string, string>();
  for (const db of [0, 1, 2, 3]) {
    await client.sendCommand(["SELECT", String(db)]);
    const keys = (await client.sendCommand(["KEYS", "*"])) as string[];
    for (const key of keys.sort()) all.set(`${db}/${key}`, await valueOf(client, key));
  }
  await client.sendCommand(["SELECT", "0"]);
  all.set("functions", JSON.stringify(await client.sendCommand(["FUNCTION", "LIST"])));
  return all;
}

function restoreInput(
  artifacts: MemoryArtifacts,
  engineMeta: Record<string, unknown>,
  expected: Fingerprint,
) {
  const verified: string[] = [];
  const input: RestoreInput = {
    artifacts,
    engineMeta,
    verify: async (partial) => {
      const actual = await redisEngine.fingerprint(partial, workdir.context);
      assert.deepEqual(compareFingerprints(expected, actual), []);
      verified.push(partial);
    },
  };
  return { input, verified };
}

describe("redis engine", () => {
  let source: TestRedis;
  let sourceClient: Client;
  let captured: { artifacts: MemoryArtifacts; engineMeta: Record<string, unknown>; fingerprint: Fingerprint };
  const servers: TestRedis[] = [];
  const spare = async (options?: Parameters<typeof startRedis>[0]) => {
    const server = await startRedis(options);
    servers.push(server);
    return server;
  };

  before(async () => {
    source = await spare({ args: ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "5"] });
    sourceClient = await source.client();
    await populate(sourceClient);
    const artifacts = new MemoryArtifacts();
    const started = Date.now();
    const result = await redisEngine.capture(sourceOf(source), artifacts, workdir.context);
    // The server's 5 s diskless delay was lowered for the transfer and put back afterwards.
    assert.ok(
      Date.now() - started < 4000,
      `capture took ${Date.now() - started} ms: it waited for the sync delay`,
    );
    assert.deepEqual(await sourceClient.sendCommand(["CONFIG", "GET", "repl-diskless-sync-delay"]), [
      "repl-diskless-sync-delay",
      "5",
    ]);
    captured = { artifacts, engineMeta: result.engineMeta, fingerprint: result.fingerprint };
  });
  after(async () => {
    for (const server of servers) await server.stop();
  });

  test("the fingerprint counts what the RDB holds: keys per database and type, TTLs, stream entries, functions", () => {
    const counts = captured.fingerprint.counts;
    assert.equal(counts["keys:db0"], 17); // expiring-soon had expired
    assert.equal(counts["keys:db0:string"], 7);
    assert.equal(counts["keys:db0:hash"], 2);
    assert.equal(counts["keys:db0:list"], 2);
    assert.equal(counts["keys:db0:set"], 3);
    assert.equal(counts["keys:db0:zset"], 2);
    assert.equal(counts["keys:db0:stream"], 1);
    assert.equal(counts["expires:db0"], 1);
    assert.equal(counts["stream_entries:db0"], 40);
    assert.equal(counts["keys:db3"], 2);
    assert.equal(counts["expires:db3"], 1);
    assert.equal(counts.functions, 1);
    assert.equal(captured.engineMeta.rdb_version, 10);
    assert.ok(!JSON.stringify(captured.engineMeta).includes("password"));
  });

  test("restore into an empty server: every key, value, encoding, TTL, consumer group and function comes back", async () => {
    const target = await spare();
    const { input, verified } = restoreInput(captured.artifacts, captured.engineMeta, captured.fingerprint);
    await redisEngine.restore(input, target.url, {}, workdir.context);
    assert.equal(verified.length, 1, "verified before the target changed");
    const targetClient = await target.client();
    // It loaded straight from the stream (on-empty-db) for the transfer; the setting is back.
    assert.deepEqual(await targetClient.sendCommand(["CONFIG", "GET", "repl-diskless-load"]), [
      "repl-diskless-load",
      "disabled",
    ]);
    assert.deepEqual(await contents(targetClient), await contents(sourceClient));
    assert.equal(
      ((await targetClient.sendCommand(["INFO", "replication"])) as string).match(/role:(\w+)/)?.[1],
      "master",
    );
    assert.deepEqual(
      compareFingerprints(captured.fingerprint, await redisEngine.fingerprint(target.url, workdir.context)),
      [],
    );
    assert.deepEqual(await readdir(workdir.context.tempDir), [], "no spool or partial file left");
  });

  test("restore into a directory writes dump.rdb that a server started there loads", async () => {
    const dir = join(workdir.base, "restore-dir");
    const { input } = restoreInput(captured.artifacts, captured.engineMeta, captured.fingerprint);
    await redisEngine.restore(input, dir, {}, workdir.context);
    assert.deepEqual(await readdir(dir), ["dump.rdb"]);
    const loaded = await spare({ dir });
    assert.deepEqual(await contents(await loaded.client()), await contents(sourceClient));
    await loaded.stop();
    // A second restore into the same directory is refused without --force, and works with it.
    await assert.rejects(redisEngine.restore(input, dir, {}, workdir.context), (error) =>
      isLifeboatError(error, "TARGET_NOT_EMPTY"),
    );
    await redisEngine.restore(
      restoreInput(captured.artifacts, captured.engineMeta, captured.fingerprint).input,
      dir,
      { force: true },
      workdir.context,
    );
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name !== "redis.log"),
      ["dump.rdb"],
      "no partial file beside it",
    );
  });

  test("a damaged artifact never reaches the target: CHECKSUM_MISMATCH, the server stays empty, nothing is left", async () => {
    const target = await spare();
    const corrupt = new CorruptArtifacts();
    for (const [name, bytes] of captured.artifacts.stored) await corrupt.write(name, Readable.from([bytes]));
    corrupt.corrupt = "dump.rdb";
    await assert.rejects(
      redisEngine.restore(
        { artifacts: corrupt, engineMeta: captured.engineMeta, verify: async () => undefined },
        target.url,
        {},
        workdir.context,
      ),
      (error) => isLifeboatError(error, "CHECKSUM_MISMATCH"),
    );
    assert.equal(await (await target.client()).sendCommand(["DBSIZE"]), 0);
    assert.deepEqual(await readdir(workdir.context.tempDir), []);
  });

  test("a snapshot that fails verification is discarded before the target changes", async () => {
    const target = await spare();
    const client = await target.client();
    await assert.rejects(
      redisEngine.restore(
        {
          artifacts: captured.artifacts,
          engineMeta: captured.engineMeta,
          verify: async () => {
            throw new Error("fingerprint mismatch (simulated by the test's verify)");
          },
        },
        target.url,
        {},
        workdir.context,
      ),
      /simulated/,
    );
    assert.equal(await client.sendCommand(["DBSIZE"]), 0);
    assert.match(String(await client.sendCommand(["INFO", "replication"])), /role:master/);
  });

  test("a non-empty server is refused without --clean; --clean replaces its whole dataset", async () => {
    const target = await spare();
    const client = await target.client();
    await client.sendCommand(["SET", "precious", "data"]);
    const { input } = restoreInput(captured.artifacts, captured.engineMeta, captured.fingerprint);
    await assert.rejects(redisEngine.restore(input, target.url, {}, workdir.context), (error) =>
      isLifeboatError(error, "TARGET_NOT_EMPTY"),
    );
    assert.equal(await client.sendCommand(["GET", "precious"]), "data");
    const state = await redisEngine.inspectTarget(target.url, workdir.context);
    assert.equal(state.empty, false);
    await redisEngine.restore(input, target.url, { clean: true }, workdir.context);
    assert.equal(await client.sendCommand(["GET", "precious"]), null);
    assert.equal(await client.sendCommand(["GET", "feature:123"]), "0.75");
  });

  test("guards prove identity: the source by another address is the same server; an unreachable target is unknown", async () => {
    const source_ = sourceOf(source);
    assert.equal(
      (await redisEngine.identifyTarget(source_, `redis://localhost:${source.port}`, workdir.context))
        .verdict,
      "same",
    );
    const other = await spare();
    assert.equal(
      (await redisEngine.identifyTarget(source_, other.url, workdir.context)).verdict,
      "different",
    );
    assert.equal(
      (await redisEngine.identifyTarget(source_, "redis://127.0.0.1:1", workdir.context)).verdict,
      "unknown",
    );
    // The source's own data directory as a directory target.
    assert.equal((await redisEngine.identifyTarget(source_, source.dir, workdir.context)).verdict, "same");
    assert.equal(
      (await redisEngine.identifyTarget(source_, join(workdir.base, "elsewhere"), workdir.context)).verdict,
      "different",
    );
  });

  test("unreachable source and wrong password are SOURCE_UNREACHABLE, without the password in the message", async () => {
    await assert.rejects(
      redisEngine.capture(
        sourceOf(source, { url: "redis://127.0.0.1:1" }),
        new MemoryArtifacts(),
        workdir.context,
      ),
      (error) => isLifeboatError(error, "SOURCE_UNREACHABLE"),
    );
    const guarded = await spare({ password: "correct horse battery" });
    const client = await guarded.client();
    await client.sendCommand(["SET", "k", "v"]);
    process.env.LIFEBOAT_TEST_REDIS_PASSWORD = "wrong-password-value";
    try {
      await assert.rejects(
        redisEngine.capture(
          sourceOf(guarded, { password_env: "LIFEBOAT_TEST_REDIS_PASSWORD" }),
          new MemoryArtifacts(),
          workdir.context,
        ),
        (error) =>
          isLifeboatError(error, "SOURCE_UNREACHABLE") &&
          !error.message.includes("wrong-password-value") &&
          /password/i.test(error.hint ?? ""),
      );
      process.env.LIFEBOAT_TEST_REDIS_PASSWORD = "correct horse battery";
      const result = await redisEngine.capture(
        sourceOf(guarded, { password_env: "LIFEBOAT_TEST_REDIS_PASSWORD" }),
        new MemoryArtifacts(),
        workdir.context,
      );
      assert.equal(result.fingerprint.counts["keys:db0"], 1);
      assert.ok(!JSON.stringify(result).includes("correct horse battery"));
    } finally {
      delete process.env.LIFEBOAT_TEST_REDIS_PASSWORD;
    }
    assert.throws(
      () => redisEngine.checkTarget("redis://:secret@127.0.0.1:6379"),
      (error) => isLifeboatError(error, "BAD_ARGUMENT") && !error.message.includes("secret"),
    );
  });

  test("a capture cut off midway (the source dies, or Lifeboat is interrupted) rejects and leaves no spool", async () => {
    const big = await spare();
    const client = await big.client();
    await client.sendCommand(["DEBUG", "POPULATE", "300000", "key", "400"]);
    const controller = new AbortController();
    const artifacts = new MemoryArtifacts();
    const capture = redisEngine.capture(sourceOf(big), artifacts, {
      ...workdir.context,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 150);
    await assert.rejects(capture);
    assert.deepEqual(await readdir(workdir.context.tempDir), []);
    const dying = redisEngine.capture(sourceOf(big), new MemoryArtifacts(), workdir.context);
    setTimeout(() => big.child.kill("SIGKILL"), 150);
    await assert.rejects(dying, (error) => isLifeboatError(error, "SOURCE_UNREACHABLE"));
    assert.deepEqual(await readdir(workdir.context.tempDir), []);
  });

  test("a cut-off RDB file is an error, not a smaller fingerprint", async () => {
    const path = join(workdir.base, "cut.rdb");
    const bytes = captured.artifacts.stored.get("dump.rdb")!;
    await writeFile(path, bytes.subarray(0, bytes.length - 20));
    assert.throws(
      () => readRdbSummary(path),
      (error) => isLifeboatError(error, "VERIFICATION_FAILED") && /truncated/.test(error.message),
    );
    await writeFile(path, bytes.subarray(0, 0));
    assert.throws(
      () => readRdbSummary(path),
      (error) => isLifeboatError(error, "VERIFICATION_FAILED"),
    );
  });

  test("a drill scratch server: started on loopback, restored into, checked with a Redis command, removed", async () => {
    const scratch = await redisEngine.provisionScratch!(
      sourceOf(source),
      { allowSourceServer: false, label: "t1" },
      workdir.context,
    );
    try {
      assert.match(scratch.target, /^redis:\/\/127\.0\.0\.1:\d+$/);
      const { input } = restoreInput(captured.artifacts, captured.engineMeta, captured.fingerprint);
      await redisEngine.restore(input, scratch.target, {}, workdir.context);
      assert.equal(
        await redisEngine.runCheckCommand!(scratch.target, ["GET", "feature:123"], workdir.context),
        "0.75",
      );
      assert.equal(
        await redisEngine.runCheckCommand!(scratch.target, ["HGET", "small-hash", "b"], workdir.context),
        "two",
      );
    } finally {
      await scratch.destroy();
    }
    await assert.rejects(redisEngine.runCheckCommand!(scratch.target, ["PING"], workdir.context), (error) =>
      isLifeboatError(error, "TARGET_UNREACHABLE"),
    );
    // The source's own server as drill.target.url is refused.
    await assert.rejects(
      redisEngine.provisionScratch!(
        sourceOf(source),
        { allowSourceServer: true, label: "t2", target: { url: `redis://localhost:${source.port}` } },
        workdir.context,
      ),
      (error) => isLifeboatError(error, "SCRATCH_ON_SOURCE"),
    );
  });

  test("concurrent writers during the capture: the fingerprint is of the snapshot, so the restore matches it exactly", async () => {
    const busy = await spare();
    const client = await busy.client();
    await client.sendCommand(["DEBUG", "POPULATE", "50000", "base", "100"]);
    let writing = true;
    let written = 0;
    const writer = (async () => {
      const own = await busy.client();
      while (writing) {
        await own.sendCommand(["SET", `new:${written}`, "x"]);
        await own.sendCommand(["DEL", `base:${written}`]);
        written++;
      }
    })();
    const artifacts = new MemoryArtifacts();
    const result = await redisEngine.capture(sourceOf(busy), artifacts, workdir.context);
    writing = false;
    await writer;
    assert.ok(written > 0, "the writer ran during the capture");
    const target = await spare();
    const { input } = restoreInput(artifacts, result.engineMeta, result.fingerprint);
    await redisEngine.restore(input, target.url, {}, workdir.context);
    assert.equal(
      Number(await (await target.client()).sendCommand(["DBSIZE"])),
      result.fingerprint.counts["keys:db0"],
    );
  });
});
