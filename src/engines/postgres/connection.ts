// Where a PostgreSQL database is, and how to reach it without leaking its
// password. A URL may carry a password (user:pw@ or ?password=); it is split
// off here, given to the `pg` client in memory and to tools only through the
// PGPASSWORD environment variable. Everything printable is built from the
// password-free form.

import { userInfo } from "node:os";
import type pg from "pg";
import { LifeboatError, type ErrorCode } from "../../errors.ts";
import { redact, registerSecret } from "../../runtime/redact.ts";
import { isThrowawaySocket } from "./local-cluster.ts";

export interface PgLocation {
  /** Host name, IP address or socket directory; undefined means libpq's default. */
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly database: string;
  readonly user: string | undefined;
  readonly password: string | undefined;
  /** The URL without any password, safe for argv, logs and messages. */
  readonly safeUrl: string;
  /** Other libpq query parameters (sslmode, application_name, ...), password removed. */
  readonly params: Readonly<Record<string, string>>;
}

const defaultPort = 5432;

export function parsePostgresUrl(text: string, role: "source" | "target"): PgLocation {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badUrl(text, role, "it is not a valid URL");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw badUrl(text, role, "it must start with postgres:// or postgresql://");
  }
  const params: Record<string, string> = {};
  for (const [key, value] of url.searchParams) params[key] = value;
  const password = url.password ? decodeURIComponent(url.password) : params.password;
  delete params.password;
  registerSecret(password);
  const user = url.username ? decodeURIComponent(url.username) : (params.user ?? defaultUser(text, role));
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const host = hostname ? decodeURIComponent(hostname) : params.host;
  const portText = url.port || params.port;
  const port = portText ? Number(portText) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw badUrl(text, role, `port ${portText} is not a TCP port`);
  }
  // libpq's order: the URL, PGDATABASE, then the user name.
  const database =
    decodeURIComponent(url.pathname.replace(/^\//, "")) || params.dbname || process.env.PGDATABASE || user;
  delete params.dbname;
  // A resolved default user goes into the URL tools get, so they connect as the `pg` client does.
  if (!url.username && params.user === undefined) {
    if (url.hostname) url.username = encodeURIComponent(user);
    else params.user = user;
  }
  const location = { host, port, database, user, password, params };
  return { ...location, safeUrl: buildSafeUrl(url, database, params) };
}

/** The URL with the password removed and the database always explicit, so tools and `pg` agree. */
function buildSafeUrl(url: URL, database: string, params: Record<string, string>): string {
  const safe = new URL(url.href);
  safe.password = "";
  safe.pathname = "/" + encodeURIComponent(database);
  safe.search = new URLSearchParams(params).toString();
  return safe.href;
}

/**
 * The user when the URL names none, as libpq finds it: PGUSER, else the name
 * of the effective uid in the passwd database (os.userInfo), never $USER,
 * which cron, systemd units and containers often leave unset.
 */
function defaultUser(text: string, role: "source" | "target"): string {
  if (process.env.PGUSER) return process.env.PGUSER;
  try {
    const name = userInfo().username;
    if (name) return name;
  } catch {
    // A uid without a passwd entry (containers run with arbitrary uids): said below.
  }
  throw badUrl(
    text,
    role,
    `it names no user, PGUSER is not set and the effective uid ${process.geteuid?.() ?? "?"} has no name in the passwd database; put the user in the URL (postgres://USER@host/db) or set PGUSER`,
  );
}

function badUrl(text: string, role: "source" | "target", why: string): LifeboatError {
  return new LifeboatError("BAD_ARGUMENT", `the ${role} URL ${redact(text)} is not usable: ${why}`);
}

/** The same server, another database (e.g. the maintenance database `postgres`). */
export function withDatabase(location: PgLocation, database: string): PgLocation {
  return {
    ...location,
    database,
    safeUrl: buildSafeUrl(new URL(location.safeUrl), database, { ...location.params }),
  };
}

/** The location with an `application_name`, so that a tool's sessions can be found on the server. */
export function taggedLocation(location: PgLocation, applicationName: string): PgLocation {
  // withDatabase rebuilds the password-free URL from `params`, so the tag reaches the tool.
  return withDatabase(
    { ...location, params: { ...location.params, application_name: applicationName } },
    location.database,
  );
}

/** host:port/database, for messages. */
export function describeLocation(location: PgLocation): string {
  const host = location.host ?? process.env.PGHOST ?? "localhost";
  const port = location.port ?? (Number(process.env.PGPORT) || defaultPort);
  return `${host}:${port}/${location.database}`;
}

// libpq's connection variables, passed from Lifeboat's environment to the pg
// tools so they connect as the in-process `pg` client does (it reads them
// itself). PGPASSWORD is not among them: toolConnection decides about it.
const libpqVariables = new Set([
  "PGHOST",
  "PGHOSTADDR",
  "PGPORT",
  "PGDATABASE",
  "PGUSER",
  "PGPASSFILE",
  "PGSERVICE",
  "PGSERVICEFILE",
  "PGOPTIONS",
  "PGAPPNAME",
  "PGSSLMODE",
  "PGREQUIRESSL",
  "PGSSLCOMPRESSION",
  "PGSSLCERT",
  "PGSSLKEY",
  "PGSSLCERTMODE",
  "PGSSLROOTCERT",
  "PGSSLCRL",
  "PGSSLCRLDIR",
  "PGSSLSNI",
  "PGSSLMINPROTOCOLVERSION",
  "PGSSLMAXPROTOCOLVERSION",
  "PGREQUIREPEER",
  "PGREQUIREAUTH",
  "PGCHANNELBINDING",
  "PGGSSENCMODE",
  "PGKRBSRVNAME",
  "PGGSSLIB",
  "PGGSSDELEGATION",
  "PGCONNECT_TIMEOUT",
  "PGCLIENTENCODING",
  "PGTARGETSESSIONATTRS",
  "PGLOADBALANCEHOSTS",
  "PGDATESTYLE",
  "PGTZ",
  "PGGEQO",
  "PGSYSCONFDIR",
  "PGLOCALEDIR",
]);

/** The libpq variables set in `env` (never PGPASSWORD). */
export function libpqEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of libpqVariables) {
    const value = env[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}

/**
 * Arguments and environment that make a libpq tool connect to `location`. The
 * password goes in PGPASSWORD (the child's environment is readable only by
 * its own user; argv is readable by everyone): the URL's own password, else
 * the PGPASSWORD Lifeboat was given, except for a throwaway drill cluster,
 * which needs none and must not see the credentials of real servers.
 */
export function toolConnection(
  location: PgLocation,
  env: NodeJS.ProcessEnv = process.env,
): { args: string[]; env: Record<string, string> } {
  const toolEnv = libpqEnvironment(env);
  const password = location.password ?? (isThrowawaySocket(location.host) ? undefined : env.PGPASSWORD);
  if (password !== undefined) toolEnv.PGPASSWORD = password;
  return { args: [`--dbname=${location.safeUrl}`], env: toolEnv };
}

function sslOption(mode: string | undefined): pg.ClientConfig["ssl"] {
  switch (mode) {
    case undefined:
      return undefined; // pg reads PGSSLMODE itself
    case "disable":
    case "allow":
    case "prefer":
      return false;
    case "require":
      return { rejectUnauthorized: false }; // libpq's `require` encrypts without verifying the CA
    default:
      return true; // verify-ca, verify-full
  }
}

/**
 * Open a `pg` client. A failure to connect becomes `code` (SOURCE_UNREACHABLE
 * or TARGET_UNREACHABLE) naming host:port/db and the server's reason, never
 * the password.
 */
export async function connect(
  location: PgLocation,
  code: ErrorCode,
  /** What to name in a failure, when it is not `location` itself (a maintenance connection for a target). */
  subject: PgLocation = location,
): Promise<pg.Client> {
  // The client library on first use: commands that never connect (status, wal-push, --help) do not load it.
  const { default: driver } = await import("pg");
  const client = new driver.Client({
    host: location.host,
    port: location.port,
    database: location.database,
    user: location.user,
    password: location.password,
    ssl: sslOption(location.params.sslmode),
    application_name: location.params.application_name ?? "lifeboat",
    connectionTimeoutMillis: Number(location.params.connect_timeout ?? 30) * 1000,
  });
  // A dropped connection emits 'error' on the client; the pending query rejects
  // with it too, so the event needs no handling beyond not crashing the process.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    const reason = redact(error instanceof Error ? error.message : String(error));
    const via = subject === location ? "" : ` (via database ${location.database})`;
    throw new LifeboatError(
      code,
      `cannot connect to PostgreSQL at ${describeLocation(subject)}${via}: ${reason}`,
      {
        details: { server: describeLocation(subject) },
        cause: error,
      },
    );
  }
  return client;
}

/** Run `use` with a connected client and always close it. */
export async function withClient<T>(
  location: PgLocation,
  code: ErrorCode,
  use: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = await connect(location, code);
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export { quoteIdent, quoteLiteral } from "./quote.ts";
