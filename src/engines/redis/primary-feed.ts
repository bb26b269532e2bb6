// Load a verified RDB into a running server the way Redis itself moves a
// dataset: Lifeboat plays the primary. It listens on a free port, tells the
// target `REPLICAOF <this host> <port>`, answers the replica's handshake
// (PING, REPLCONF, PSYNC) with a full resynchronisation and streams the RDB
// as it comes out of the repository. The last 64 KiB are held back until the
// whole RDB has been verified against the snapshot's fingerprint: a replica
// whose transfer breaks off discards it (or, loading an empty dataset
// straight from the socket, empties it again), so unverified data never
// becomes the target's. Then Lifeboat waits until the target has loaded it,
// checks the key counts, and ends with `REPLICAOF NO ONE`. The server's own
// loader does the byte-level work; no redis-server binary is needed here.

import { randomBytes } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { LifeboatError } from "../../errors.ts";
import type { EngineContext } from "../engine.ts";
import { command, info, withRedis, type RedisClient, type RedisEndpoint } from "./connection.ts";
import { keyspace } from "./target.ts";

const connectWithinMs = 30_000;

/** The address of this host as the target sees it: the local end of a connection to it. */
function localAddressTowards(endpoint: RedisEndpoint): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port }, () => {
      const address = socket.localAddress;
      socket.destroy();
      if (address) resolve(address.replace(/^::ffff:/, ""));
      else reject(new Error("no local address"));
    });
    socket.once("error", reject);
  });
}

/** What a full resynchronisation sends, and when it may finish. */
export interface RdbFeed {
  readonly size: number;
  /** The RDB's bytes; the stream errors when a chunk fails verification. */
  readonly chunks: AsyncIterable<Buffer>;
  /** Called when all but the last bytes are sent; throwing abandons the transfer, which the target then discards. */
  readonly beforeLastBytes: () => Promise<void>;
}

const heldBackBytes = 64 * 1024;

function writeTo(socket: Socket, data: Buffer): Promise<void> {
  if (socket.write(data)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const closed = () => reject(new Error("the target closed the replication link"));
    socket.once("close", closed);
    socket.once("drain", () => {
      socket.off("close", closed);
      resolve();
    });
  });
}

/** Send the RDB, all but the held-back tail, then the tail once beforeLastBytes accepted. */
async function pump(socket: Socket, feed: RdbFeed): Promise<void> {
  let tail: Buffer = Buffer.alloc(0);
  for await (const chunk of feed.chunks) {
    tail = tail.length === 0 ? chunk : Buffer.concat([tail, chunk]);
    if (tail.length > heldBackBytes) {
      const send = tail.subarray(0, tail.length - heldBackBytes);
      tail = Buffer.from(tail.subarray(tail.length - heldBackBytes));
      await writeTo(socket, send);
    }
  }
  await feed.beforeLastBytes();
  await writeTo(socket, tail);
}

/** Answer a replica's handshake and stream it the RDB once it asks for PSYNC. */
function serveReplica(socket: Socket, feed: RdbFeed, done: (error?: Error) => void): void {
  let buffer = Buffer.alloc(0);
  let sent = false;
  socket.on("data", (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const parsed = parseCommand(buffer);
      if (!parsed) return;
      buffer = buffer.subarray(parsed.used);
      const name = (parsed.args[0] ?? "").toUpperCase();
      if (name === "PING") socket.write("+PONG\r\n");
      else if (name === "PSYNC" || name === "SYNC") {
        if (sent) continue;
        sent = true;
        socket.write(`+FULLRESYNC ${randomBytes(20).toString("hex")} 0\r\n$${feed.size}\r\n`);
        pump(socket, feed).then(
          () => done(),
          (error: Error) => {
            socket.destroy(); // the replica discards a transfer that breaks off
            done(error);
          },
        );
      } else if (name === "REPLCONF" && (parsed.args[1] ?? "").toUpperCase() === "ACK") continue;
      else socket.write("+OK\r\n"); // AUTH, REPLCONF listening-port / capa / ip-address
    }
  });
  socket.on("error", () => undefined);
}

/** One RESP array of bulk strings (what replicas send), or undefined until it is complete. */
function parseCommand(buffer: Buffer): { args: string[]; used: number } | undefined {
  const lineEnd = buffer.indexOf("\r\n");
  if (lineEnd < 0) return undefined;
  if (buffer[0] !== 0x2a /* * */) {
    // An inline command ("PING\r\n").
    return { args: buffer.subarray(0, lineEnd).toString("latin1").trim().split(/\s+/), used: lineEnd + 2 };
  }
  const count = Number(buffer.subarray(1, lineEnd).toString("latin1"));
  const args: string[] = [];
  let at = lineEnd + 2;
  for (let index = 0; index < count; index++) {
    const end = buffer.indexOf("\r\n", at);
    if (end < 0) return undefined;
    const length = Number(buffer.subarray(at + 1, end).toString("latin1"));
    if (buffer.length < end + 2 + length + 2) return undefined;
    args.push(buffer.subarray(end + 2, end + 2 + length).toString("latin1"));
    at = end + 2 + length + 2;
  }
  return { args, used: at };
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve((server.address() as { port: number }).port));
  });
}

/**
 * Replace the target's dataset with the RDB at `rdbPath`. `storedKeys` (per
 * database, as the RDB holds them) is checked against the target once loaded:
 * a replica keeps keys that expired meanwhile until it is promoted, so the
 * count is exact.
 */
export async function feedRdbToServer(
  feed: RdbFeed,
  target: RedisEndpoint,
  storedKeys: Readonly<Record<string, number>> | undefined,
  context: EngineContext,
): Promise<void> {
  const size = feed.size;
  const host = await localAddressTowards(target).catch((error: unknown) => {
    throw new LifeboatError(
      "TARGET_UNREACHABLE",
      `Redis server ${target.label}: ${(error as Error).message}`,
    );
  });
  const server = createServer();
  let settle: (error?: Error) => void = () => undefined;
  const sent = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  sent.catch(() => undefined);
  const sockets = new Set<Socket>();
  let connectTimer: NodeJS.Timeout | undefined;
  server.on("connection", (socket) => {
    clearTimeout(connectTimer); // connected: the transfer takes as long as the data does
    sockets.add(socket);
    serveReplica(socket, feed, settle);
  });
  const port = await listen(server, host);
  try {
    await withRedis(target, "TARGET_UNREACHABLE", async (client) => {
      const restoreLoadMode = await loadFromSocket(client, context);
      await command(client, ["REPLICAOF", host, String(port)]);
      try {
        connectTimer = setTimeout(
          () => settle(new Error(`the target did not connect back to ${host}:${port} within 30 s`)),
          connectWithinMs,
        );
        try {
          await sent;
        } finally {
          clearTimeout(connectTimer);
        }
        await waitForLoaded(client, size, target, context);
        if (storedKeys) await checkKeyCounts(await keyspace(client), storedKeys, target);
      } finally {
        // Whatever happened, the target must not stay a replica of a port that is about to close.
        await command(client, ["REPLICAOF", "NO", "ONE"]).catch(() => undefined);
        await restoreLoadMode?.();
      }
    });
  } catch (error) {
    if (error instanceof LifeboatError) throw error;
    throw new LifeboatError(
      "TARGET_UNREACHABLE",
      `loading the RDB into ${target.label} failed: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  } finally {
    for (const socket of sockets) socket.destroy();
    server.close();
  }
}

/**
 * An empty target can load straight from the socket while the RDB streams
 * (repl-diskless-load on-empty-db), instead of writing it to disk first:
 * set for this transfer when it is off, put back afterwards. Without CONFIG
 * (ACLs, managed Redis) the target's own setting is used.
 */
async function loadFromSocket(
  client: RedisClient,
  context: EngineContext,
): Promise<(() => Promise<void>) | undefined> {
  try {
    const reply = (await command(client, ["CONFIG", "GET", "repl-diskless-load"])) as string[];
    if (reply[1] !== "disabled") return undefined;
    await command(client, ["CONFIG", "SET", "repl-diskless-load", "on-empty-db"]);
    return async () => {
      await command(client, ["CONFIG", "SET", "repl-diskless-load", "disabled"]).catch((error: unknown) =>
        context.log.warn(`could not set repl-diskless-load back to disabled: ${(error as Error).message}`),
      );
    };
  } catch {
    return undefined;
  }
}

/** Until the target reports the sync done and the data loaded; a server that keeps failing to load is an error. */
async function waitForLoaded(
  client: RedisClient,
  size: number,
  target: RedisEndpoint,
  context: EngineContext,
) {
  // Loading runs at tens of MB/s; far longer than that means the server refuses the file and retries.
  const deadline = Date.now() + 60_000 + size / 20_000;
  for (;;) {
    context.signal?.throwIfAborted();
    if (Date.now() > deadline)
      throw new LifeboatError(
        "TARGET_UNREACHABLE",
        `Redis server ${target.label} did not finish loading the snapshot (see its log: an RDB version it cannot read, or maxmemory too small)`,
      );
    const replication = await info(client, "replication");
    const persistence = await info(client, "persistence");
    if (
      replication.master_link_status === "up" &&
      replication.master_sync_in_progress === "0" &&
      persistence.loading === "0"
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function checkKeyCounts(
  loaded: Readonly<Record<string, number>>,
  stored: Readonly<Record<string, number>>,
  target: RedisEndpoint,
): Promise<void> {
  const names = new Set([...Object.keys(loaded), ...Object.keys(stored)]);
  const wrong = [...names].filter((name) => (loaded[name] ?? 0) !== (stored[name] ?? 0));
  if (wrong.length > 0) {
    throw new LifeboatError(
      "VERIFICATION_FAILED",
      `Redis server ${target.label} loaded other key counts than the snapshot holds: ${wrong
        .map((name) => `${name} ${loaded[name] ?? 0} (expected ${stored[name] ?? 0})`)
        .join(", ")}`,
    );
  }
}
