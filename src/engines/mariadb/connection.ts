// Where a MariaDB/MySQL server is and how to log in, from a mariadb:// (or
// mysql://) URL. A URL never holds a password (it would end up in configs,
// shell history and `ps`); the password comes from the environment variable
// the source's `password_env` (or a target URL's `?password_env=`) names,
// is registered for redaction, and is handed to the connector in memory and
// to the command-line tools in a 0600 defaults file (tools.ts).

import type * as mariadb from "mariadb";
import { loadMariadbConnector } from "./connector.ts";
import { LifeboatError, type ErrorCode } from "../../errors.ts";
import { redact, registerSecret } from "../../runtime/redact.ts";

export interface MariadbLocation {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The database the URL names; undefined for a server URL. */
  readonly database: string | undefined;
  /** A unix socket to connect through instead of TCP (`?socket=/run/mysqld/mysqld.sock`). */
  readonly socket: string | undefined;
  /** The environment variable holding the password, if any. */
  readonly passwordEnv: string | undefined;
}

export type Role = "source" | "target";

const maxNameLength = 64;

/** Parse a mariadb:// or mysql:// URL; a password in it, another scheme or a bad name is BAD_ARGUMENT. */
export function parseMariadbUrl(text: string, role: Role, passwordEnv?: string): MariadbLocation {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badUrl(text, role, "it is not a URL");
  }
  if (url.protocol !== "mariadb:" && url.protocol !== "mysql:") {
    throw badUrl(text, role, "it is not a mariadb:// or mysql:// URL");
  }
  if (url.password !== "") {
    throw new LifeboatError("BAD_ARGUMENT", `the ${role} URL ${redact(text)} carries a password`, {
      hint: "Remove the password from the URL and put it in an environment variable: password_env: NAME in the source config, or ?password_env=NAME on a target URL.",
    });
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (database.includes("/") || database.length > maxNameLength) {
    throw badUrl(text, role, "the path must be one database name of at most 64 characters");
  }
  return {
    host: url.hostname === "" ? "127.0.0.1" : url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port === "" ? 3306 : Number(url.port),
    user: url.username === "" ? "root" : decodeURIComponent(url.username),
    database: database === "" ? undefined : database,
    socket: url.searchParams.get("socket") ?? undefined,
    passwordEnv: passwordEnv ?? url.searchParams.get("password_env") ?? undefined,
  };
}

function badUrl(text: string, role: Role, why: string): LifeboatError {
  return new LifeboatError("BAD_ARGUMENT", `bad ${role} ${redact(text)}: ${why}`, {
    hint: "Use mariadb://user@host:3306/database (or mysql://); the password goes in an environment variable (password_env).",
  });
}

/** The same server, another database (or none: the server itself). */
export function withDatabase(location: MariadbLocation, database: string | undefined): MariadbLocation {
  return { ...location, database };
}

/** A URL for `location` (no password ever): what restore hands to verify and scratch hands to drills. */
export function formatUrl(location: MariadbLocation): string {
  const host = location.host.includes(":") ? `[${location.host}]` : location.host;
  const path = location.database === undefined ? "" : encodeURIComponent(location.database);
  const query = new URLSearchParams();
  if (location.socket) query.set("socket", location.socket);
  if (location.passwordEnv) query.set("password_env", location.passwordEnv);
  const search = query.size > 0 ? `?${query.toString()}` : "";
  return `mariadb://${encodeURIComponent(location.user)}@${host}:${location.port}/${path}${search}`;
}

/** "127.0.0.1:3306/shop" (or "/run/mysqld/mysqld.sock/shop"): safe to print. */
export function describeLocation(location: MariadbLocation): string {
  const server = location.socket ?? `${location.host}:${location.port}`;
  return location.database === undefined ? server : `${server}/${location.database}`;
}

/** The password, read from the named variable (and registered for redaction); undefined without one. */
export function readPassword(location: MariadbLocation, code: ErrorCode): string | undefined {
  if (location.passwordEnv === undefined) return undefined;
  const value = process.env[location.passwordEnv];
  if (value === undefined) {
    throw new LifeboatError(code, `the password variable ${location.passwordEnv} is not set`, {
      hint: `Export ${location.passwordEnv} with the password of ${location.user} before running Lifeboat.`,
    });
  }
  registerSecret(value);
  return value;
}

/** Quote an identifier with backticks (doubling any backtick in it). */
export function quoteIdent(name: string): string {
  return "`" + name.replaceAll("`", "``") + "`";
}

export interface ConnectOptions {
  /** Seconds a statement of ours waits for a metadata or row lock (lock_wait_timeout, innodb_lock_wait_timeout). */
  readonly lockWaitSeconds?: number;
}

/**
 * Connect with the mariadb connector. Unreachable servers and refused logins
 * are `code` (SOURCE_UNREACHABLE or TARGET_UNREACHABLE) with a hint; the
 * message never holds the password (the connector does not print it, and
 * everything passes redact()).
 */
export async function connect(
  location: MariadbLocation,
  code: ErrorCode,
  options: ConnectOptions = {},
): Promise<mariadb.Connection> {
  const password = readPassword(location, code);
  let connection: mariadb.Connection;
  try {
    const { createConnection } = await loadMariadbConnector();
    connection = await createConnection({
      ...(location.socket ? { socketPath: location.socket } : { host: location.host, port: location.port }),
      user: location.user,
      ...(password === undefined ? {} : { password }),
      ...(location.database === undefined ? {} : { database: location.database }),
      connectTimeout: 10_000,
      bigIntAsNumber: true,
      decimalAsNumber: false,
      dateStrings: true,
      multipleStatements: false,
    });
  } catch (error) {
    throw connectionError(error, location, code, password !== undefined);
  }
  if (options.lockWaitSeconds !== undefined && options.lockWaitSeconds > 0) {
    const seconds = Math.max(1, Math.ceil(options.lockWaitSeconds));
    await connection.query(
      `SET SESSION lock_wait_timeout = ${seconds}, innodb_lock_wait_timeout = ${seconds}`,
    );
  }
  return connection;
}

function connectionError(error: unknown, location: MariadbLocation, code: ErrorCode, withPassword: boolean) {
  const { errno, message } = error as { errno?: number; message?: string };
  const where = describeLocation(location);
  const text = redact(String(message ?? error)).replace(/\s*\(conn:[^)]*\)/, "");
  // 1045: access denied; 1044: no access to the database; 1049: unknown database.
  if (errno === 1045) {
    return new LifeboatError(code, `login to ${where} as ${location.user} was refused: ${text}`, {
      cause: error,
      details: { server: where, user: location.user },
      hint: withPassword
        ? `Check the password in ${location.passwordEnv} and that ${location.user} may connect from this host.`
        : `The server wants a password: name the environment variable holding it (password_env), or check that ${location.user} may connect from this host.`,
    });
  }
  return new LifeboatError(code, `cannot connect to ${where}: ${text}`, {
    cause: error,
    details: { server: where, errno: errno ?? null },
  });
}

/** Connect, run `work`, always close. */
export async function withConnection<T>(
  location: MariadbLocation,
  code: ErrorCode,
  work: (connection: mariadb.Connection) => Promise<T>,
  options: ConnectOptions = {},
): Promise<T> {
  const connection = await connect(location, code, options);
  try {
    return await work(connection);
  } finally {
    await connection.end().catch(() => connection.destroy());
  }
}

/** Rows of a query as plain records (the connector's result arrays carry a `meta` property). */
export async function rows<T>(
  connection: mariadb.Connection,
  sql: string,
  values: readonly unknown[] = [],
): Promise<T[]> {
  const result = (await connection.query(sql, values)) as T[];
  return Array.from(result);
}

/** The source fields that say where it is and what it captures. */
export interface SourceUrlFields {
  readonly url: string;
  readonly databases?: readonly string[] | undefined;
  readonly password_env?: string | undefined;
}

/** Which databases a source captures, and whether the dump holds several (USE lines, `<db>.<table>` keys). */
export function sourceScope(source: SourceUrlFields): { named: string[] | undefined; several: boolean } {
  const location = parseMariadbUrl(source.url, "source", source.password_env);
  const named = source.databases
    ? [...source.databases]
    : location.database === undefined
      ? undefined
      : [location.database];
  return { named, several: named === undefined || named.length > 1 };
}
