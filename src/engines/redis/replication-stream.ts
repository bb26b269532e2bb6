// The RDB of a running server, read through the replication protocol as
// `redis-cli --rdb` reads it: Lifeboat connects as a replica (SYNC, with
// `REPLCONF rdb-only 1` so the primary sends the snapshot and nothing after)
// and streams the bytes on. The primary forks and writes a point-in-time
// snapshot, so the stream is one consistent state of every database.
//
// A diskless primary (repl-diskless-sync yes, the default since Redis 7)
// waits repl-diskless-sync-delay seconds (default 5) for more replicas
// before it forks. With `sync_delay: lower` Lifeboat sets the delay to 0 for
// the moment its transfer starts and then puts the old value back; a value
// that is already 0 is left alone, so two overlapping captures cannot leave
// the server with Lifeboat's 0 instead of the operator's value.

import { connect as connectTcp, type Socket } from "node:net";
import { Readable } from "node:stream";
import { connect as connectTls } from "node:tls";
import { LifeboatError, type ErrorCode } from "../../errors.ts";
import type { Logger } from "../../runtime/logger.ts";
import { redact } from "../../runtime/redact.ts";
import { command, connectionError, withRedis, type RedisEndpoint } from "./connection.ts";

/** The primary's keep-alive while it prepares the snapshot is one newline a second; a minute of nothing is a dead link. */
const idleTimeoutMs = 60_000;
const eofMarkLength = 40;

export interface RdbTransfer {
  /** The RDB bytes; errors if the link breaks before the whole snapshot arrived. */
  readonly stream: Readable;
}

function encode(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
  return Buffer.from(parts.join(""));
}

/** Lower repl-diskless-sync-delay to 0 if it delays us; returns how to put it back. */
async function lowerSyncDelay(
  endpoint: RedisEndpoint,
  code: ErrorCode,
  log: Logger,
): Promise<(() => Promise<void>) | undefined> {
  try {
    return await withRedis(endpoint, code, async (client) => {
      const reply = (await command(client, ["CONFIG", "GET", "repl-diskless-sync*"])) as unknown;
      const settings = configPairs(reply);
      const delay = Number(settings["repl-diskless-sync-delay"] ?? 0);
      if (settings["repl-diskless-sync"] !== "yes" || !(delay > 0)) return undefined;
      await command(client, ["CONFIG", "SET", "repl-diskless-sync-delay", "0"]);
      return async () => {
        await withRedis(endpoint, code, (again) =>
          command(again, ["CONFIG", "SET", "repl-diskless-sync-delay", String(delay)]),
        ).catch((error: unknown) =>
          log.warn(
            `could not set repl-diskless-sync-delay back to ${delay} on ${endpoint.label}: ${(error as Error).message}`,
          ),
        );
      };
    });
  } catch (error) {
    if (error instanceof LifeboatError) throw error;
    // CONFIG renamed or not permitted (managed Redis, ACLs): wait like redis-cli does.
    log.info(
      `cannot lower repl-diskless-sync-delay on ${endpoint.label} (${(error as Error).message}); waiting for the server's delay`,
    );
    return undefined;
  }
}

/** CONFIG GET replies a flat array (RESP2) or a map (RESP3). */
function configPairs(reply: unknown): Record<string, string> {
  if (Array.isArray(reply)) {
    const pairs: Record<string, string> = {};
    for (let index = 0; index + 1 < reply.length; index += 2)
      pairs[String(reply[index])] = String(reply[index + 1]);
    return pairs;
  }
  if (reply instanceof Map) return Object.fromEntries([...reply].map(([k, v]) => [String(k), String(v)]));
  return Object.fromEntries(Object.entries(reply as object).map(([k, v]) => [k, String(v)]));
}

function openSocket(endpoint: RedisEndpoint): Socket {
  return endpoint.tls
    ? connectTls({ host: endpoint.host, port: endpoint.port, servername: endpoint.host })
    : connectTcp({ host: endpoint.host, port: endpoint.port });
}

/**
 * Start a snapshot transfer from the server. Resolves once the primary has
 * begun sending the RDB (so the snapshot's moment is behind us); the stream
 * then carries it.
 */
export async function openRdbTransfer(
  endpoint: RedisEndpoint,
  options: { code: ErrorCode; syncDelay: "lower" | "wait"; log: Logger; signal?: AbortSignal },
): Promise<RdbTransfer> {
  const restoreDelay =
    options.syncDelay === "lower" ? await lowerSyncDelay(endpoint, options.code, options.log) : undefined;
  const socket = openSocket(endpoint);
  socket.setTimeout(idleTimeoutMs, () =>
    socket.destroy(
      new LifeboatError(options.code, `Redis server ${endpoint.label} sent nothing for 60 s during SYNC`),
    ),
  );
  const onAbort = () => socket.destroy(new LifeboatError("INTERRUPTED", "interrupted"));
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const requests: string[][] = [];
  if (endpoint.password)
    requests.push(
      endpoint.username ? ["AUTH", endpoint.username, endpoint.password] : ["AUTH", endpoint.password],
    );
  requests.push(["REPLCONF", "capa", "eof"], ["REPLCONF", "rdb-only", "1"]);
  const chunks = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const lines = new LineReader(chunks);
  let pending: Buffer;
  try {
    // One at a time: a server refuses SYNC while replies to earlier commands are still unsent.
    for (const request of requests) {
      socket.write(encode(request));
      const reply = await lines.line();
      // An AUTH failure is fatal; an unknown REPLCONF option only means an older server.
      if (reply.startsWith("-") && request[0] === "AUTH") throw new Error(reply.slice(1));
      if (reply.startsWith("-NOAUTH")) throw new Error(reply.slice(1));
    }
    socket.write(encode(["SYNC"]));
    const header = await lines.syncHeader();
    pending = lines.rest();
    await restoreDelay?.();
    return {
      stream: Readable.from(body(header, pending, chunks, socket, endpoint, options.code)),
    };
  } catch (error) {
    await restoreDelay?.();
    socket.destroy();
    options.signal?.removeEventListener("abort", onAbort);
    if (error instanceof LifeboatError) throw error;
    throw connectionError(error, endpoint, options.code);
  }
}

type Header = { readonly length: number } | { readonly mark: Buffer };

/** Reply lines before the snapshot, read from the socket's chunks; what follows the header is kept. */
class LineReader {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly chunks: AsyncIterator<Buffer>;
  constructor(chunks: AsyncIterator<Buffer>) {
    this.chunks = chunks;
  }

  async line(): Promise<string> {
    for (;;) {
      const end = this.buffer.indexOf("\r\n");
      if (end >= 0) {
        const line = this.buffer.subarray(0, end).toString("latin1");
        this.buffer = this.buffer.subarray(end + 2);
        return line;
      }
      const next = await this.chunks.next();
      if (next.done) throw new Error("the server closed the connection before sending a snapshot");
      this.buffer = Buffer.concat([this.buffer, next.value]);
    }
  }

  /** After SYNC: keep-alive newlines while the primary prepares, then `$<length>` or `$EOF:<mark>`. */
  async syncHeader(): Promise<Header> {
    for (;;) {
      const line = (await this.line()).replace(/^\n+/, "");
      if (line === "") continue;
      if (line.startsWith("-")) throw new Error(line.slice(1));
      if (line.startsWith("$EOF:")) return { mark: Buffer.from(line.slice(5), "latin1") };
      if (line.startsWith("$")) return { length: Number(line.slice(1)) };
      throw new Error(`unexpected reply to SYNC: ${redact(line.slice(0, 80))}`);
    }
  }

  rest(): Buffer {
    return this.buffer;
  }
}

async function* body(
  header: Header,
  first: Buffer,
  chunks: AsyncIterator<Buffer>,
  socket: Socket,
  endpoint: RedisEndpoint,
  code: ErrorCode,
): AsyncGenerator<Buffer> {
  const cut = () =>
    new LifeboatError(
      code,
      `Redis server ${endpoint.label} closed the link before the whole snapshot arrived`,
    );
  try {
    if ("length" in header) {
      let left = header.length;
      let chunk: Buffer | undefined = first;
      while (left > 0) {
        if (!chunk || chunk.length === 0) {
          const next = await chunks.next();
          if (next.done) throw cut();
          chunk = next.value;
        }
        const piece: Buffer = chunk.length > left ? chunk.subarray(0, left) : chunk;
        left -= piece.length;
        chunk = undefined;
        yield piece;
      }
      return;
    }
    // Diskless: the snapshot ends with the 40-byte mark; keep the last 40 bytes back until it shows.
    let tail = first;
    for (;;) {
      const at = tail.indexOf(header.mark);
      if (at >= 0) {
        if (at > 0) yield tail.subarray(0, at);
        return;
      }
      if (tail.length > eofMarkLength) {
        yield tail.subarray(0, tail.length - eofMarkLength);
        tail = tail.subarray(tail.length - eofMarkLength);
      }
      const next = await chunks.next();
      if (next.done) throw cut();
      tail = Buffer.concat([tail, next.value]);
    }
  } finally {
    socket.destroy();
  }
}
