// Reaching a Redis server: the endpoint parsed from a redis:// URL, the
// password from the environment (never the URL, never an argument), and one
// short-lived client per task. A failure to connect or authenticate is a
// LifeboatError with the code the caller chose (SOURCE_UNREACHABLE for the
// source, TARGET_UNREACHABLE for a restore target) and a hint.

import type * as RedisLibrary from "@redis/client";
import type { createClient } from "@redis/client";
import { LifeboatError, type ErrorCode } from "../../errors.ts";
import { redact, registerSecret } from "../../runtime/redact.ts";

export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly username?: string;
  readonly password?: string;
  /** host:port, safe to print. */
  readonly label: string;
}

/** Parse a redis:// URL; a password in it is refused (it would end up in shell history and process lists). */
export function parseRedisUrl(url: string, passwordEnv?: string): RedisEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new LifeboatError("BAD_ARGUMENT", `${redact(url)} is not a redis:// URL`, {
      hint: "Write it as redis://host:port, e.g. redis://127.0.0.1:6379.",
    });
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new LifeboatError("BAD_ARGUMENT", `${redact(url)} is not a redis:// URL`, {
      hint: "Write it as redis://host:port, e.g. redis://127.0.0.1:6379.",
    });
  }
  if (parsed.password) {
    throw new LifeboatError("BAD_ARGUMENT", `the Redis URL ${redact(url)} carries a password`, {
      hint: "Remove it from the URL and put it in REDISCLI_AUTH (or the variable named by password_env).",
    });
  }
  if (parsed.pathname !== "" && parsed.pathname !== "/") {
    throw new LifeboatError("BAD_ARGUMENT", `the Redis URL ${redact(url)} names a database`, {
      hint: "A Redis backup or restore covers every database of the server: give the URL without /N.",
    });
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
  const port = parsed.port ? Number(parsed.port) : 6379;
  const password = process.env[passwordEnv ?? "REDISCLI_AUTH"];
  registerSecret(password);
  return {
    host,
    port,
    tls: parsed.protocol === "rediss:",
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(password ? { password } : {}),
    label: `${host.includes(":") ? `[${host}]` : host}:${port}`,
  };
}

/** The client library, loaded on first use (about 80 ms and 25 MB that commands without Redis never pay). */
let library: Promise<typeof RedisLibrary> | undefined;

function newClient(endpoint: RedisEndpoint, create: typeof createClient) {
  return create({
    // RESP2: the plain replies redis-cli shows (INFO as text, CONFIG GET as a flat list).
    RESP: 2,
    socket: {
      host: endpoint.host,
      port: endpoint.port,
      connectTimeout: 10_000,
      reconnectStrategy: false,
      ...(endpoint.tls ? { tls: true as const } : {}),
    },
    ...(endpoint.username ? { username: endpoint.username } : {}),
    ...(endpoint.password ? { password: endpoint.password } : {}),
    disableOfflineQueue: true,
  });
}

export type RedisClient = ReturnType<typeof newClient>;

/** Map a connection or authentication failure to a named error, without the password. */
export function connectionError(error: unknown, endpoint: RedisEndpoint, code: ErrorCode): LifeboatError {
  if (error instanceof LifeboatError) return error;
  const message = (error as Error).message ?? String(error);
  const auth = /WRONGPASS|NOAUTH|invalid password|invalid username|AUTH/i.test(message);
  return new LifeboatError(code, `Redis server ${endpoint.label}: ${redact(message)}`, {
    details: { server: endpoint.label },
    cause: error,
    hint: auth
      ? "Check the user in the URL and the password in REDISCLI_AUTH (or the variable password_env names)."
      : "Check that the server runs and that this host can reach it.",
  });
}

/** Connect one client (no reconnects, no offline queue: a dead server is an error now, not a hang). */
export async function connectRedis(endpoint: RedisEndpoint, code: ErrorCode): Promise<RedisClient> {
  library ??= import("@redis/client");
  const client = newClient(endpoint, (await library).createClient);
  let lastError: unknown;
  client.on("error", (error: unknown) => (lastError = error));
  try {
    await client.connect();
    return client;
  } catch (error) {
    client.destroy();
    throw connectionError(lastError ?? error, endpoint, code);
  }
}

/** Run `task` with a connected client and always close it. */
export async function withRedis<T>(
  endpoint: RedisEndpoint,
  code: ErrorCode,
  task: (client: RedisClient) => Promise<T>,
): Promise<T> {
  const client = await connectRedis(endpoint, code);
  try {
    return await task(client);
  } finally {
    client.destroy();
  }
}

/** A command's reply as text (INFO, CONFIG GET values). */
export async function command(client: RedisClient, args: readonly string[]): Promise<unknown> {
  return client.sendCommand([...args]);
}

/** INFO <section> parsed into field → value. */
export async function info(client: RedisClient, section: string): Promise<Record<string, string>> {
  const text = String(await command(client, ["INFO", section]));
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}
