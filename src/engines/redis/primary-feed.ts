// Load a verified RDB into a running server the way Redis itself moves a
// dataset: Lifeboat plays the primary. It listens on a free port, tells the
// target `REPLICAOF <this host> <port>`, answers the replica's handshake
// (PING, REPLCONF, PSYNC) with a full resynchronisation carrying the RDB,
// waits until the target has loaded it, checks the key count, and ends
// with `REPLICAOF NO ONE`. The server's own loader does the byte-level work;
// no redis-server binary is needed on Lifeboat's host.

import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { pipeline } from "node:stream/promises";
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

/** Answer a replica's handshake and send it the RDB once it asks for PSYNC. */
function serveReplica(socket: Socket, rdbPath: string, size: number, done: (error?: Error) => void): void {
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
        socket.write(`+FULLRESYNC ${randomBytes(20).toString("hex")} 0\r\n$${size}\r\n`);
        pipeline(createReadStream(rdbPath), socket, { end: false }).then(
          () => done(),
          (error: Error) => done(error),
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
  rdbPath: string,
  target: RedisEndpoint,
  storedKeys: Readonly<Record<string, number>> | undefined,
  context: EngineContext,
): Promise<void> {
  const size = (await stat(rdbPath)).size;
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
  server.on("connection", (socket) => {
    sockets.add(socket);
    serveReplica(socket, rdbPath, size, settle);
  });
  const port = await listen(server, host);
  try {
    await withRedis(target, "TARGET_UNREACHABLE", async (client) => {
      await command(client, ["REPLICAOF", host, String(port)]);
      try {
        const timer = setTimeout(
          () => settle(new Error(`the target did not connect back to ${host}:${port} within 30 s`)),
          connectWithinMs,
        );
        try {
          await sent;
        } finally {
          clearTimeout(timer);
        }
        await waitForLoaded(client, size, target, context);
        if (storedKeys) await checkKeyCounts(await keyspace(client), storedKeys, target);
      } finally {
        // Whatever happened, the target must not stay a replica of a port that is about to close.
        await command(client, ["REPLICAOF", "NO", "ONE"]).catch(() => undefined);
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
