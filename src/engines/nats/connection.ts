// Connecting to a NATS server, as a source or as a restore target. Secrets
// come from environment variables the config names (source) or from
// NATS_PASSWORD / NATS_TOKEN (target, whose URL may name a user only); each
// is registered for redaction the moment it is read. A failed connection is
// SOURCE_UNREACHABLE or TARGET_UNREACHABLE with the address and a hint, never
// with the password.

import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { natsJetstream, natsTransport } from "./client-library.ts";
import { LifeboatError, type ErrorCode } from "../../errors.ts";
import { redact, registerSecret } from "../../runtime/redact.ts";
import type { NatsSourceConfig } from "./config.ts";
import { throwawayToken } from "./local-server.ts";

/** Where to connect and as whom; `password`/`token` are secrets and never printed. */
export interface NatsEndpoint {
  /** The URL without credentials, safe to print. */
  readonly url: string;
  /** host:port, for messages. */
  readonly address: string;
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
  /** Which variable the secret came from, for hints. */
  readonly secretFrom?: string;
}

export const targetPasswordVariable = "NATS_PASSWORD";
export const targetTokenVariable = "NATS_TOKEN";

const connectTimeoutMs = 5000;

/** Parse a nats:// or tls:// URL; one with a password or token is refused (BAD_ARGUMENT). */
export function parseNatsUrl(
  url: string,
  role: "source" | "target",
): { url: string; address: string; user?: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badUrl(url, role, "is not a URL");
  }
  if (parsed.protocol !== "nats:" && parsed.protocol !== "tls:")
    throw badUrl(url, role, "is not a nats:// URL");
  if (!parsed.hostname) throw badUrl(url, role, "has no host");
  if (parsed.password || (role === "source" && parsed.username)) {
    throw new LifeboatError("BAD_ARGUMENT", `the NATS ${role} URL ${redact(url)} carries credentials`, {
      hint:
        role === "source"
          ? "Put the user in `user:` and the password in the variable named by `password_env` (or a token in the one named by `token_env`)."
          : `Name only the user in the URL (nats://user@host:port) and put the password in ${targetPasswordVariable} (or a token in ${targetTokenVariable}).`,
    });
  }
  if ((parsed.pathname && parsed.pathname !== "/") || parsed.search || parsed.hash) {
    throw badUrl(url, role, "has a path or query; a NATS URL is scheme://host:port");
  }
  const port = parsed.port || "4222";
  const address = `${parsed.hostname}:${port}`;
  const user = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  return { url: `${parsed.protocol}//${address}`, address, ...(user ? { user } : {}) };
}

function badUrl(url: string, role: string, why: string): LifeboatError {
  return new LifeboatError("BAD_ARGUMENT", `the NATS ${role} ${redact(url)} ${why}`, {
    hint: "Give a URL such as nats://127.0.0.1:4222.",
  });
}

function readSecret(variable: string): string {
  const value = process.env[variable];
  if (!value) {
    throw new LifeboatError("PASSWORD_MISSING", `the environment variable ${variable} is not set`, {
      hint: `Set ${variable} to the NATS password or token before running Lifeboat.`,
    });
  }
  registerSecret(value);
  return value;
}

export function sourceEndpoint(source: NatsSourceConfig): NatsEndpoint {
  const { url, address } = parseNatsUrl(source.url, "source");
  if (source.user && source.password_env) {
    return {
      url,
      address,
      user: source.user,
      password: readSecret(source.password_env),
      secretFrom: source.password_env,
    };
  }
  if (source.token_env)
    return { url, address, token: readSecret(source.token_env), secretFrom: source.token_env };
  return { url, address };
}

/**
 * A target's URL may name a user; the password or token comes from NATS_PASSWORD / NATS_TOKEN
 * when set. A throwaway server this process started is reached with its own token.
 */
export function targetEndpoint(target: string): NatsEndpoint {
  const { url, address, user } = parseNatsUrl(target, "target");
  // A throwaway server of this process (drills) admits only its own token.
  const own = throwawayToken(address);
  if (own && !user) return { url, address, token: own };
  const password = process.env[targetPasswordVariable];
  const token = process.env[targetTokenVariable];
  if (user) {
    if (password) registerSecret(password);
    return { url, address, user, ...(password ? { password, secretFrom: targetPasswordVariable } : {}) };
  }
  if (token) {
    registerSecret(token);
    return { url, address, token, secretFrom: targetTokenVariable };
  }
  return { url, address };
}

/** Connect once (no reconnects: a backup or restore that loses its server must fail, not wait). */
export async function openConnection(
  endpoint: NatsEndpoint,
  code: Extract<ErrorCode, "SOURCE_UNREACHABLE" | "TARGET_UNREACHABLE">,
): Promise<NatsConnection> {
  const { AuthorizationError, connect } = await natsTransport();
  try {
    return await connect({
      servers: endpoint.url,
      name: "lifeboat",
      reconnect: false,
      timeout: connectTimeoutMs,
      ...(endpoint.user ? { user: endpoint.user } : {}),
      ...(endpoint.password ? { pass: endpoint.password } : {}),
      ...(endpoint.token ? { token: endpoint.token } : {}),
    });
  } catch (error) {
    const role = code === "SOURCE_UNREACHABLE" ? "source" : "target";
    const refused = error instanceof AuthorizationError;
    const reason = redact((error as Error).message);
    throw new LifeboatError(
      code,
      refused
        ? `the NATS ${role} ${endpoint.address} refused the login${endpoint.user ? ` of user ${endpoint.user}` : ""}: ${reason}`
        : `cannot connect to the NATS ${role} ${endpoint.address}: ${reason}`,
      {
        details: { address: endpoint.address },
        cause: error,
        hint: refused
          ? endpoint.secretFrom
            ? `Check the user and the secret in ${endpoint.secretFrom}.`
            : role === "source"
              ? "The server requires a login: set `user` and `password_env` (or `token_env`) on the source."
              : `The server requires a login: name the user in the URL and put the password in ${targetPasswordVariable} (or a token in ${targetTokenVariable}).`
          : "Check that nats-server runs with JetStream (-js) at that address and that nothing blocks the port.",
      },
    );
  }
}

/** Run `work` on a fresh connection and close it afterwards, whatever happens. */
export async function withConnection<T>(
  endpoint: NatsEndpoint,
  code: Extract<ErrorCode, "SOURCE_UNREACHABLE" | "TARGET_UNREACHABLE">,
  work: (connection: NatsConnection) => Promise<T>,
): Promise<T> {
  const connection = await openConnection(endpoint, code);
  try {
    return await work(connection);
  } finally {
    await connection.close().catch(() => {});
  }
}

/** The JetStream manager of a connection; a server without JetStream is unreachable for our purpose. */
export async function openManager(
  connection: NatsConnection,
  role: "source" | "target",
): Promise<JetStreamManager> {
  try {
    return await (await natsJetstream()).jetstreamManager(connection);
  } catch (error) {
    throw new LifeboatError(
      role === "source" ? "SOURCE_UNREACHABLE" : "TARGET_UNREACHABLE",
      `JetStream is not available on the NATS ${role} ${connection.getServer()}: ${(error as Error).message}`,
      { cause: error, hint: "Start nats-server with JetStream enabled (-js, or a jetstream {} block)." },
    );
  }
}
