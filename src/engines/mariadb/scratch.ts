// Scratch targets for drills: a unique `lifeboat_drill_<label>` database on
// the drill's scratch server (drill.target.url), or, without one, on a
// throwaway local mariadbd (local-server.ts). A scratch database on the
// source's own server is refused unless allow_source_server; its name never
// is the source database's. destroy() drops it and any partial leftovers.

import { LifeboatError } from "../../errors.ts";
import type { EngineContext, ScratchRequest, ScratchTarget } from "../engine.ts";
import type { MariadbSourceConfig } from "./config.ts";
import {
  connect,
  describeLocation,
  formatUrl,
  parseMariadbUrl,
  quoteIdent,
  withConnection,
  withDatabase,
  type MariadbLocation,
} from "./connection.ts";
import { startLocalMariadb } from "./local-server.ts";
import { compareServers, readServerInfo, type ServerInfo } from "./server-info.ts";
import { dropStaleLeftovers } from "./target.ts";

/** `lifeboat_drill_<label>`, lower-case letters, digits and `_`, keeping the label's unique tail. */
export function scratchDatabaseName(label: string): string {
  const cleaned = label.toLowerCase().replace(/[^a-z0-9_]+/g, "_");
  return `lifeboat_drill_${cleaned.slice(-23)}`;
}

async function serverInfo(location: MariadbLocation): Promise<ServerInfo | undefined> {
  try {
    const connection = await connect(withDatabase(location, undefined), "TARGET_UNREACHABLE");
    try {
      return await readServerInfo(connection);
    } finally {
      await connection.end().catch(() => connection.destroy());
    }
  } catch {
    return undefined;
  }
}

function envFor(location: MariadbLocation): Record<string, string> {
  const url = formatUrl(location);
  return {
    MYSQL_HOST: location.host,
    MYSQL_TCP_PORT: String(location.port),
    MYSQL_DATABASE: location.database ?? "",
    MARIADB_URL: url,
    LIFEBOAT_TARGET: url,
  };
}

async function dropScratch(location: MariadbLocation, context: EngineContext): Promise<void> {
  await withConnection(withDatabase(location, undefined), "TARGET_UNREACHABLE", async (connection) => {
    await dropStaleLeftovers(connection, location.database!, context.log);
    await connection.query(`DROP DATABASE IF EXISTS ${quoteIdent(location.database!)}`);
  });
}

export async function provisionScratch(
  source: MariadbSourceConfig,
  request: ScratchRequest,
  context: EngineContext,
): Promise<ScratchTarget> {
  const name = scratchDatabaseName(request.label);
  const sourceLocation = parseMariadbUrl(source.url, "source", source.password_env);
  if (request.target?.url) {
    const location = withDatabase(parseMariadbUrl(request.target.url, "target"), name);
    await refuseSourceServer(sourceLocation, location, request, context);
    return onServer(location, context);
  }
  try {
    const local = await startLocalMariadb();
    const location = withDatabase(parseMariadbUrl(local.url(), "target"), name);
    return {
      target: formatUrl(location),
      description: `throwaway MariaDB server on 127.0.0.1:${local.port}, database ${name}`,
      env: envFor(location),
      destroy: local.stop,
      keep: async () => local.keep(),
    };
  } catch (error) {
    if (!request.allowSourceServer) throw error;
    context.log.warn(
      `no throwaway MariaDB server (${(error as Error).message}); using the source's server (allow_source_server)`,
    );
    return onServer(withDatabase(sourceLocation, name), context);
  }
}

function onServer(location: MariadbLocation, context: EngineContext): ScratchTarget {
  let destroyed = false;
  return {
    target: formatUrl(location),
    description: `database ${location.database} on ${describeLocation(withDatabase(location, undefined))}`,
    env: envFor(location),
    destroy: async () => {
      if (destroyed) return;
      destroyed = true;
      await dropScratch(location, context);
    },
    keep: async () =>
      `database ${location.database} on ${describeLocation(withDatabase(location, undefined))}; drop it by hand when done`,
  };
}

/** SCRATCH_ON_SOURCE when the scratch server is the source's (proven, or the same address when the source is unreachable). */
async function refuseSourceServer(
  sourceLocation: MariadbLocation,
  scratch: MariadbLocation,
  request: ScratchRequest,
  context: EngineContext,
): Promise<void> {
  if (request.allowSourceServer) return;
  const [sourceInfo, scratchInfo] = await Promise.all([serverInfo(sourceLocation), serverInfo(scratch)]);
  let same: boolean;
  if (sourceInfo && scratchInfo) same = compareServers(sourceInfo, scratchInfo).same;
  else {
    same = sourceLocation.host === scratch.host && sourceLocation.port === scratch.port;
    if (!same)
      context.log.warn(
        "cannot compare the scratch server with the source (one is unreachable); they have different addresses",
      );
  }
  if (same) {
    throw new LifeboatError(
      "SCRATCH_ON_SOURCE",
      `the drill's scratch server ${describeLocation(withDatabase(scratch, undefined))} is the source's own server`,
      {
        hint: "Point drill.target.url at another server, drop it to use a throwaway local server, or set drill.allow_source_server: true.",
      },
    );
  }
}
