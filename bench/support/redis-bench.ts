// Throwaway redis-server instances for bench/redis-mariadb.ts, and the
// generated dataset. The servers listen on 127.0.0.1 on free ports with
// nothing persisted by themselves (save "", appendonly no, so no background
// BGSAVE competes with the contenders) and DEBUG enabled for DEBUG DIGEST,
// the content check of every restore.
//
// The dataset is a mix of the types a cache holds, with realistic, partly
// compressible values: JSON session strings with a random token (db0, a third
// with a 7-day TTL), user hashes (db0), event lists, tag sets and leaderboard
// sorted sets (db1), and incompressible 8 KiB random blobs (db2). Random bytes
// are fresh for every value, so no compressor or deduplicator finds repeats
// that a real dataset would not have. Written through `redis-cli --pipe`.

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { freePort, runTool } from "./pg-cluster.ts";
import { prng } from "./prng.ts";

export interface BenchRedis {
  readonly port: number;
  readonly dir: string;
  readonly url: string;
  /** redis-cli against this server; throws on a non-zero exit. */
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Flags every bench server gets, the peer's restore server included (the script passes them too). */
export const redisServerFlags = [
  "--bind 127.0.0.1",
  '--save ""',
  "--appendonly no",
  "--enable-debug-command yes",
];

export async function redisCli(port: number, args: readonly string[]): Promise<string> {
  const outcome = await runTool("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args]);
  if (outcome.code !== 0)
    throw new Error(`redis-cli ${args.join(" ")}: exit ${outcome.code}: ${outcome.stderr.trim()}`);
  return outcome.stdout;
}

export async function waitForPong(port: number, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outcome = await runTool("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "ping"]);
    if (outcome.stdout.trim() === "PONG") return;
    if (Date.now() > deadline) throw new Error(`redis on ${port} never answered PONG`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A server of ours, spawned (not daemonized) so that stop() ends exactly it. */
export async function startBenchRedis(baseDir: string, name: string): Promise<BenchRedis> {
  const dir = join(baseDir, name);
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
      "--enable-debug-command",
      "yes",
      "--logfile",
      join(dir, "redis.log"),
    ],
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitForPong(port, 15_000);
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    cli: (...args) => redisCli(port, args),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}

/** Keys per database, from INFO keyspace: { db0: 123, ... }. */
export async function redisKeyspace(port: number): Promise<Record<string, number>> {
  const text = await redisCli(port, ["info", "keyspace"]);
  const out: Record<string, number> = {};
  for (const match of text.matchAll(/^(db\d+):keys=(\d+)/gm)) out[match[1]!] = Number(match[2]);
  return out;
}

/** What a restore must reproduce: keys per database and the dataset's DEBUG DIGEST. */
export async function redisContent(port: number): Promise<string> {
  const keys = await redisKeyspace(port);
  const digest = (await redisCli(port, ["debug", "digest"])).trim();
  return `${Object.entries(keys)
    .map(([db, n]) => `${db}=${n}`)
    .join(" ")} digest=${digest}`;
}

function resp(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === "string" ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

const words =
  "order shipped payment pending refund customer cart checkout warehouse invoice account login logout session timeout retry cache miss hit latency upstream request response error warning notice product review rating discount coupon delivery courier address".split(
    " ",
  );
const countries = ["DE", "FR", "US", "GB", "NL", "SE", "PL", "ES", "IT", "JP"];

function phrase(random: () => number, count: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(words[Math.floor(random() * words.length)]!);
  return out.join(" ");
}

/** The commands of the dataset, about `megabytes` MB of values; yields RESP buffers. */
function* datasetCommands(megabytes: number): Generator<Buffer> {
  const random = prng(42);
  const budget = megabytes * 1e6;
  const shares = { sessions: 0.45, users: 0.2, events: 0.1, sets: 0.05, blobs: 0.2 };
  yield resp(["SELECT", "0"]);
  for (let i = 0, bytes = 0; bytes < budget * shares.sessions; i++) {
    const value = JSON.stringify({
      user_id: Math.floor(random() * 1e6),
      cart: Array.from({ length: 1 + Math.floor(random() * 5) }, () => ({
        sku: `SKU-${Math.floor(random() * 1e5)}`,
        qty: 1 + Math.floor(random() * 3),
      })),
      token: randomBytes(72).toString("base64"),
      ua: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
      last_path: `/shop/${phrase(random, 3).replaceAll(" ", "/")}`,
      created: 1_700_000_000 + i,
    });
    bytes += value.length;
    yield resp(i % 3 === 0 ? ["SET", `session:${i}`, value, "EX", "604800"] : ["SET", `session:${i}`, value]);
  }
  for (let i = 0, bytes = 0; bytes < budget * shares.users; i++) {
    const fields = [
      ["name", `user ${i}`],
      ["email", `user${i}@example.com`],
      ["country", countries[i % countries.length]!],
      ["created", String(1_600_000_000 + i * 7)],
      ["score", String(Math.floor(random() * 10_000))],
      ["bio", phrase(random, 20)],
      ["avatar", randomBytes(48).toString("base64")],
      ["plan", random() < 0.2 ? "pro" : "free"],
    ];
    bytes += fields.reduce((sum, [k, v]) => sum + k!.length + v!.length, 0);
    yield resp(["HSET", `user:${i}`, ...fields.flat()]);
  }
  yield resp(["SELECT", "1"]);
  for (let i = 0, bytes = 0; bytes < budget * shares.events; i++) {
    const lines = Array.from(
      { length: 25 },
      (_, n) =>
        `2026-12-0${1 + (n % 9)}T10:${String(n).padStart(2, "0")}:00Z ${random() < 0.1 ? "WARN" : "INFO"} ${phrase(random, 8)}`,
    );
    bytes += lines.reduce((sum, line) => sum + line.length, 0);
    yield resp(["RPUSH", `events:${i}`, ...lines]);
  }
  for (let i = 0, bytes = 0; bytes < budget * shares.sets; i++) {
    const tags = Array.from({ length: 15 }, () => `${words[Math.floor(random() * words.length)]}-${i % 97}`);
    const board = Array.from({ length: 50 }, (_, n) => [
      String(Math.floor(random() * 1e6)),
      `player:${i}:${n}`,
    ]);
    bytes +=
      tags.reduce((sum, tag) => sum + tag.length, 0) +
      board.reduce((sum, [s, m]) => sum + s!.length + m!.length, 0);
    yield resp(["SADD", `tags:${i}`, ...tags]);
    yield resp(["ZADD", `board:${i}`, ...board.flat()]);
  }
  yield resp(["SELECT", "2"]);
  for (let i = 0, bytes = 0; bytes < budget * shares.blobs; i++) {
    bytes += 8192;
    yield resp(["SET", `blob:${i}`, randomBytes(8192)]);
  }
}

/** Loads the dataset through `redis-cli --pipe` (with backpressure). */
export async function populateRedis(port: number, megabytes: number): Promise<void> {
  const child = spawn("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--pipe"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (output += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (output += text));
  const closed = new Promise<number | null>((resolve) => child.once("close", resolve));
  let batch: Buffer[] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const ok = child.stdin.write(Buffer.concat(batch));
    batch = [];
    batchBytes = 0;
    if (!ok) await new Promise((resolve) => child.stdin.once("drain", resolve));
  };
  for (const command of datasetCommands(megabytes)) {
    batch.push(command);
    batchBytes += command.length;
    if (batchBytes > 1 << 20) await flush();
  }
  await flush();
  child.stdin.end();
  const code = await closed;
  if (code !== 0 || !/errors: 0,/.test(output)) throw new Error(`redis-cli --pipe failed: ${output}`);
}
