// Scratch targets for drills. With drill.target.url a fresh, uniquely named
// database on that server (restore() creates it; destroy() drops it and any
// partial leftovers). Without it, a throwaway local cluster (local-cluster.ts)
// that destroy() stops and deletes. A scratch database on the source's own
// server is refused unless allow_source_server, and is never the source
// database itself: its name always starts with `lifeboat_drill_`.

import { randomBytes } from "node:crypto";
import type { PostgresSourceConfig } from "./config.ts";
import { LifeboatError } from "../../errors.ts";
import type { EngineContext, ScratchRequest, ScratchTarget } from "../engine.ts";
import { connect, parsePostgresUrl, quoteIdent, withDatabase, type PgLocation } from "./connection.ts";
import { serverKey } from "./identity.ts";
import { startLocalCluster } from "./local-cluster.ts";
import { findServerBinaries } from "./server-binaries.ts";
import { readServerInfo, type ServerInfo } from "./server-info.ts";
import { scratchDatabaseName } from "./scratch-name.ts";
import { connectMaintenance, dropDatabase, partialPrefix } from "./target.ts";

export async function provisionScratch(
  source: PostgresSourceConfig,
  request: ScratchRequest,
  context: EngineContext,
): Promise<ScratchTarget> {
  const sourceLocation = parsePostgresUrl(source.url, "source");
  const sourceServer = await readSourceServer(sourceLocation);
  const name = scratchDatabaseName(request.label);
  if (request.target?.url) {
    return scratchOnServer(request.target.url, name, sourceLocation, sourceServer, request, context);
  }
  return scratchCluster(name, sourceServer, context);
}

/** The source's server facts, or undefined when it cannot be reached (a drill must still run). */
async function readSourceServer(location: PgLocation): Promise<ServerInfo | undefined> {
  try {
    const client = await connect(location, "SOURCE_UNREACHABLE");
    try {
      return await readServerInfo(client);
    } finally {
      await client.end().catch(() => {});
    }
  } catch {
    return undefined;
  }
}

const majorOf = (server: ServerInfo) => Math.floor(server.serverVersionNum / 10000);

async function scratchCluster(
  name: string,
  sourceServer: ServerInfo | undefined,
  context: EngineContext,
): Promise<ScratchTarget> {
  const minMajor = sourceServer ? majorOf(sourceServer) : undefined;
  if (minMajor === undefined) {
    context.log.warn(
      "the source is unreachable, so its version is unknown: the drill uses the newest local PostgreSQL",
    );
  }
  const binaries = await findServerBinaries(minMajor, context);
  const cluster = await startLocalCluster(binaries, context);
  // The cluster listens on its private unix socket only; libpq, `pg` and parsePostgresUrl all read a
  // percent-encoded socket directory as the host.
  const url = `postgres://postgres@${encodeURIComponent(cluster.socketDir)}:${cluster.port}/${name}`;
  return {
    target: url,
    description: `throwaway PostgreSQL ${cluster.major} cluster on unix socket ${cluster.socketDir}:${cluster.port}, database ${name}`,
    env: {
      PGHOST: cluster.socketDir,
      PGPORT: String(cluster.port),
      PGUSER: "postgres",
      PGDATABASE: name,
      DATABASE_URL: url,
      LIFEBOAT_TARGET: url,
    },
    destroy: cluster.stop,
    keep: async () => cluster.keep(name),
  };
}

async function scratchOnServer(
  serverUrl: string,
  proposedName: string,
  sourceLocation: PgLocation,
  sourceServer: ServerInfo | undefined,
  request: ScratchRequest,
  context: EngineContext,
): Promise<ScratchTarget> {
  const server = parsePostgresUrl(serverUrl, "target");
  const address = serverAddress(server);
  const maintenance = await connectMaintenance(withDatabase(server, proposedName), "TARGET_UNREACHABLE");
  let name = proposedName;
  let onSourceServer: boolean;
  try {
    const scratchServer = await readServerInfo(maintenance);
    // The system identifier survives DNS aliases and port forwards; without it, compare addresses.
    onSourceServer =
      sourceServer?.systemIdentifier && scratchServer.systemIdentifier
        ? sourceServer.systemIdentifier === scratchServer.systemIdentifier
        : serverKey(sourceLocation) === serverKey(server);
    if (onSourceServer && !request.allowSourceServer) {
      throw new LifeboatError(
        "SCRATCH_ON_SOURCE",
        `the drill's scratch server ${address} is the source's own server (source ${serverAddress(sourceLocation)}/${sourceLocation.database})`,
        {
          details: {
            scratchServer: address,
            source: `${serverAddress(sourceLocation)}/${sourceLocation.database}`,
          },
        },
      );
    }
    if (onSourceServer) {
      context.log.warn(
        `drill.allow_source_server: the scratch database runs on the source's own server ${address} and loads it`,
      );
    }
    // A label is unique per drill; should a database of that name exist anyway, it is someone else's.
    while (name === sourceLocation.database || (await databaseExists(maintenance, name))) {
      name = scratchDatabaseName(`${request.label}_${randomBytes(3).toString("hex")}`);
    }
    if (sourceServer && majorOf(scratchServer) < majorOf(sourceServer)) {
      context.log.warn(
        `the scratch server ${address} runs PostgreSQL ${majorOf(scratchServer)}, older than the source's ${majorOf(sourceServer)}: the restore may fail`,
      );
    }
  } finally {
    await maintenance.end().catch(() => {});
  }

  const location = withDatabase(server, name);
  const target = new URL(serverUrl); // keeps a password the configured URL may carry
  target.pathname = "/" + encodeURIComponent(name);
  target.searchParams.delete("dbname");
  const keep = onSourceServer ? sourceLocation.database : undefined;
  return {
    target: target.href,
    description: `database ${name} on ${address}`,
    env: {
      ...(server.host ? { PGHOST: server.host } : {}),
      ...(server.port ? { PGPORT: String(server.port) } : {}),
      ...(server.user ? { PGUSER: server.user } : {}),
      ...(server.params.sslmode ? { PGSSLMODE: server.params.sslmode } : {}),
      PGDATABASE: name,
      DATABASE_URL: location.safeUrl,
      LIFEBOAT_TARGET: location.safeUrl,
    },
    destroy: once(() => dropScratchDatabase(location, keep, context)),
    // A database on a server outlives this process by itself: keeping it is not dropping it.
    keep: async () => `database ${name} on ${address} (drop it with: DROP DATABASE ${quoteIdent(name)})`,
  };
}

async function databaseExists(maintenance: Awaited<ReturnType<typeof connect>>, name: string) {
  const found = await maintenance.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
  return found.rows.length > 0;
}

const dropAttempts = 10;
const dropRetryMs = 500;

/**
 * Drop the scratch database and partial leftovers of its restore. Right after
 * a killed pg_restore its sessions may still be ending (and the restore's own
 * cleanup may be dropping the partial database at the same moment), so each
 * drop is retried briefly. `keep` (the source database, on its own server) is
 * never dropped, whatever the names.
 */
async function dropScratchDatabase(location: PgLocation, keep: string | undefined, context: EngineContext) {
  for (let attempt = 1; ; attempt++) {
    try {
      const maintenance = await connectMaintenance(location, "TARGET_UNREACHABLE");
      try {
        const prefix = partialPrefix(location.database);
        const found = await maintenance.query<{ datname: string }>(
          "SELECT datname FROM pg_database WHERE datname = $1 OR left(datname, length($2)) = $2",
          [location.database, prefix],
        );
        for (const { datname } of found.rows) {
          if (datname !== keep) await dropDatabase(maintenance, datname);
        }
        return;
      } finally {
        await maintenance.end().catch(() => {});
      }
    } catch (error) {
      if (attempt >= dropAttempts) throw error;
      context.log.debug(
        `dropping scratch database ${location.database}: ${(error as Error).message}; retrying`,
      );
      await new Promise((resolve) => setTimeout(resolve, dropRetryMs));
    }
  }
}

/** Run `work` once; a failed run may be retried by calling again. */
function once(work: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= work().catch((error: unknown) => {
      running = undefined;
      throw error;
    });
    return running;
  };
}

/** host:port of a server, for messages (no database, no password). */
function serverAddress(location: PgLocation): string {
  const host = location.host ?? process.env.PGHOST ?? "localhost";
  const port = location.port ?? (Number(process.env.PGPORT) || 5432);
  return `${host}:${port}`;
}
