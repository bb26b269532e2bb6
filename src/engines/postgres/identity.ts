// Is a restore target the source itself? The verdict is "different" only
// when something proves it, "same" when something shows it, and "unknown"
// otherwise: addresses alone prove nothing (a host alias, another loopback
// address, a port forward all reach the same server under another name).
//
// Evidence, strongest first:
// 1. Another database name: a restore there cannot touch the source database.
// 2. pg_control_system()'s system identifier of both clusters (different:
//    another cluster; equal: the same cluster, unless the live facts of 3 show
//    another running server: a physical copy, which is "unknown").
// 3. Facts only one running server gives every session alike, read over two
//    connections that both stay open until the comparison is done (a restart
//    in between would have ended them): the postmaster's start time, its
//    `port` setting (one per server), its data directory. Any of them
//    different: another server; the start time and port equal: the same.
// 4. The system identifier recorded in the snapshot, when the source cannot
//    be asked now: the target's cluster is or is not the one backed up.
// 5. The very same host:port: same. (Another loopback address or a host
//    alias of the same port is likely the same server but not proof: unknown.)

import type pg from "pg";
import type { ErrorCode } from "../../errors.ts";
import type { EngineContext, TargetIdentity } from "../engine.ts";
import type { PostgresSourceConfig } from "./config.ts";
import { connect, describeLocation, parsePostgresUrl, type PgLocation } from "./connection.ts";
import { openSession, quickReadLimits, type Session } from "./session.ts";
import { connectMaintenance } from "./target.ts";

export type { TargetIdentity };

interface ServerFacts {
  readonly systemIdentifier: string | null;
  /** pg_postmaster_start_time() as epoch seconds with microseconds (time-zone independent). */
  readonly started: string | null;
  readonly port: string;
  readonly dataDirectory: string | null;
}

/** A side of the comparison: its facts and open session, or why it could not be asked. */
type Side = { facts: ServerFacts; session: Session } | { facts: null; failure: string };

export async function identifyTarget(
  source: PostgresSourceConfig,
  target: string,
  context: Pick<EngineContext, "signal"> = {},
  recorded: Readonly<Record<string, unknown>> = {},
): Promise<TargetIdentity> {
  const sourceLocation = parsePostgresUrl(source.url, "source");
  const targetLocation = parsePostgresUrl(target, "target");
  if (sourceLocation.database !== targetLocation.database) {
    return {
      verdict: "different",
      reason: `the target database ${targetLocation.database} is not the source database ${sourceLocation.database}`,
    };
  }
  const [sourceSide, targetSide] = await Promise.all([
    readSide(sourceLocation, "SOURCE_UNREACHABLE", context.signal, connectSourceServer),
    readSide(targetLocation, "TARGET_UNREACHABLE", context.signal, connectTargetServer),
  ]);
  try {
    return await decide(sourceLocation, targetLocation, sourceSide, targetSide, recorded);
  } finally {
    await Promise.all(
      [sourceSide, targetSide].map((side) => (side.facts ? side.session.close() : undefined)),
    );
  }
}

async function decide(
  sourceLocation: PgLocation,
  targetLocation: PgLocation,
  sourceSide: Side,
  targetSide: Side,
  recorded: Readonly<Record<string, unknown>>,
): Promise<TargetIdentity> {
  const source = sourceSide.facts;
  const target = targetSide.facts;
  const database = sourceLocation.database;

  if (source?.systemIdentifier && target?.systemIdentifier && sourceSide.facts && targetSide.facts) {
    if (source.systemIdentifier !== target.systemIdentifier) {
      return {
        verdict: "different",
        reason: `the target is on another cluster (system identifier ${target.systemIdentifier}, the source's is ${source.systemIdentifier})`,
      };
    }
    // A standby or a pg_basebackup clone shares the identifier but is another server: not
    // provably the source, nor provably not; the user may vouch for it (--target-not-source).
    const live = compareRunningServers(source, target);
    if (live?.verdict === "different" && (await stillConnected(sourceSide.session, targetSide.session))) {
      return {
        verdict: "unknown",
        reason: `the target has the source's system identifier ${target.systemIdentifier}, yet ${live.reason.replace(/^the target is /, "is ")}: a physical copy of the source (a standby or a clone)`,
      };
    }
    return {
      verdict: "same",
      reason: `the target is database ${database} on the source's cluster (system identifier ${target.systemIdentifier})`,
    };
  }

  if (sourceSide.facts && targetSide.facts) {
    const live = compareRunningServers(sourceSide.facts, targetSide.facts);
    // A difference counts only if neither server restarted meanwhile: both sessions must still be alive.
    if (
      live?.verdict === "same" ||
      (live && (await stillConnected(sourceSide.session, targetSide.session)))
    ) {
      return live;
    }
  }

  const recordedId = typeof recorded.system_identifier === "string" ? recorded.system_identifier : null;
  if (recordedId && target?.systemIdentifier) {
    return recordedId === target.systemIdentifier
      ? {
          verdict: "same",
          reason: `the target is database ${database} on the cluster the snapshot was taken from (system identifier ${recordedId})`,
        }
      : {
          verdict: "different",
          reason: `the target's cluster (system identifier ${target.systemIdentifier}) is not the one the snapshot was taken from (${recordedId}); the source itself could not be asked (${sourceSide.facts ? "its system identifier is not readable" : sourceSide.failure})`,
        };
  }

  if (describeLocation(sourceLocation).toLowerCase() === describeLocation(targetLocation).toLowerCase()) {
    return {
      verdict: "same",
      reason: `the target has the source's address and database name (${describeLocation(targetLocation)})`,
    };
  }

  const unread = [
    sourceSide.facts ? undefined : `the source could not be asked (${sourceSide.failure})`,
    targetSide.facts ? undefined : `the target could not be asked (${targetSide.failure})`,
    source && !source.systemIdentifier ? "the source's system identifier is not readable" : undefined,
    target && !target.systemIdentifier ? "the target's system identifier is not readable" : undefined,
    source && target ? "the two servers show no difference this role can read" : undefined,
    serverKey(sourceLocation) === serverKey(targetLocation)
      ? "both addresses are on this machine with the same port, so probably the same server"
      : undefined,
  ].filter((line) => line !== undefined);
  return {
    verdict: "unknown",
    reason:
      `cannot tell whether ${describeLocation(targetLocation)} is the source ${describeLocation(sourceLocation)}: ` +
      `${unread.join("; ")} (reading pg_control_system() needs EXECUTE on it; addresses prove nothing)`,
  };
}

/** Start time, port and data directory, as far as both sides could read them; null: nothing to compare. */
function compareRunningServers(source: ServerFacts, target: ServerFacts): TargetIdentity | null {
  if (source.port !== target.port) {
    return {
      verdict: "different",
      reason: `the target is another running server (it listens on port ${target.port}, the source's server on ${source.port})`,
    };
  }
  if (source.dataDirectory && target.dataDirectory && source.dataDirectory !== target.dataDirectory) {
    return {
      verdict: "different",
      reason: `the target is another running server (data directory ${target.dataDirectory}, the source's is ${source.dataDirectory})`,
    };
  }
  if (source.started && target.started) {
    return source.started === target.started
      ? {
          verdict: "same",
          reason: `the target is the source's server under another address (same postmaster: started at the same microsecond, same port ${target.port}) and the same database`,
        }
      : {
          verdict: "different",
          reason:
            "the target is another running server (its postmaster started at another time than the source's)",
        };
  }
  return null;
}

async function stillConnected(...sessions: Session[]): Promise<boolean> {
  try {
    await Promise.all(sessions.map((session) => session.client.query("SELECT 1")));
    return true;
  } catch {
    return false;
  }
}

async function readSide(
  location: PgLocation,
  code: "SOURCE_UNREACHABLE" | "TARGET_UNREACHABLE",
  signal: AbortSignal | undefined,
  connectTo: (location: PgLocation, code: ErrorCode) => Promise<pg.Client>,
): Promise<Side> {
  let session: Session | undefined;
  try {
    session = await openSession(location, code, { limits: quickReadLimits, signal }, connectTo);
    return { facts: await readServerFacts(session), session };
  } catch (error) {
    await session?.close();
    signal?.throwIfAborted();
    return { facts: null, failure: error instanceof Error ? error.message : String(error) };
  }
}

/** The source database, or a maintenance database on its server when it is gone (dropped, renamed). */
async function connectSourceServer(location: PgLocation, code: ErrorCode): Promise<pg.Client> {
  try {
    return await connect(location, code);
  } catch (error) {
    if (!/does not exist/.test((error as Error).message)) throw error;
    return connectMaintenance(location, code);
  }
}

/** A maintenance database on the target's server (the target may not exist yet), else the target itself. */
async function connectTargetServer(location: PgLocation, code: ErrorCode): Promise<pg.Client> {
  try {
    return await connectMaintenance(location, code);
  } catch (error) {
    // Only when the server answered and refused that database (pg_hba.conf, CONNECT privilege).
    if (!/pg_hba\.conf|permission denied|not permitted/i.test((error as Error).message)) throw error;
    try {
      return await connect(location, code);
    } catch {
      throw error; // the maintenance database's reason is the more telling one
    }
  }
}

async function readServerFacts(session: Session): Promise<ServerFacts> {
  const { client } = session;
  // Privileges first: EXECUTE is checked when a query is planned, so a CASE around a call does not guard it.
  const allowed = await client.query<{ control: boolean; started: boolean }>(`
    SELECT has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE') AS control,
           has_function_privilege('pg_catalog.pg_postmaster_start_time()', 'EXECUTE') AS started`);
  const may = allowed.rows[0];
  const result = await client.query<{
    system_identifier: string | null;
    started: string | null;
    port: string;
    data_directory: string | null;
  }>(`
    SELECT ${may?.control ? "(SELECT system_identifier::text FROM pg_catalog.pg_control_system())" : "NULL"}
             AS system_identifier,
           ${may?.started ? "extract(epoch FROM pg_catalog.pg_postmaster_start_time())::text" : "NULL"} AS started,
           current_setting('port') AS port,
           (SELECT setting FROM pg_catalog.pg_settings WHERE name = 'data_directory') AS data_directory`);
  const row = result.rows[0];
  if (!row) throw new Error("the server returned no identity row");
  return {
    systemIdentifier: row.system_identifier,
    started: row.started,
    port: row.port,
    dataDirectory: row.data_directory,
  };
}

/** Loopback names and addresses (all of 127/8) and socket directories are this machine. */
function isLocalHost(host: string): boolean {
  return (
    host === "" ||
    host === "localhost" ||
    host === "::1" ||
    host === "0.0.0.0" ||
    host.startsWith("/") ||
    /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}

/**
 * host:port with every local address as "local": equal keys are likely the
 * same server (scratch.ts refuses one there); unequal ones prove nothing.
 */
export function serverKey(location: PgLocation): string {
  const rawHost = (location.host ?? process.env.PGHOST ?? "").toLowerCase();
  const host = isLocalHost(rawHost) ? "local" : rawHost;
  const port = location.port ?? (Number(process.env.PGPORT) || 5432);
  return `${host}:${port}`;
}
