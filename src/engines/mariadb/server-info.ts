// Facts about a running server: its version and flavour for engineMeta, and
// the facts that tell one server from another for the identity guards.
// MariaDB has no server UUID (MySQL's @@server_uuid), so a server is known by
// its hostname, port and data directory, plus its start time (the clock minus
// Uptime), which a restarted or different server does not share.

import type * as mariadb from "mariadb";
import { rows } from "./connection.ts";

export interface ServerInfo {
  readonly version: string;
  readonly flavour: "MariaDB" | "MySQL";
  readonly hostname: string;
  readonly port: number;
  readonly datadir: string;
  /** MySQL only; null on MariaDB. */
  readonly serverUuid: string | null;
  /** Unix seconds when the server started (from Uptime; within a second or two). */
  readonly startedAt: number;
}

export async function readServerInfo(connection: mariadb.Connection): Promise<ServerInfo> {
  const [row] = await rows<{ version: string; hostname: string; port: number; datadir: string; now: number }>(
    connection,
    "SELECT VERSION() AS version, @@hostname AS hostname, @@port AS port, @@datadir AS datadir, UNIX_TIMESTAMP() AS now",
  );
  const [uptime] = await rows<{ Value: string }>(connection, "SHOW GLOBAL STATUS LIKE 'Uptime'");
  let serverUuid: string | null = null;
  if (!/mariadb/i.test(row!.version)) {
    const [uuid] = await rows<{ id: string }>(connection, "SELECT @@server_uuid AS id");
    serverUuid = uuid?.id ?? null;
  }
  return {
    version: row!.version,
    flavour: /mariadb/i.test(row!.version) ? "MariaDB" : "MySQL",
    hostname: row!.hostname,
    port: Number(row!.port),
    datadir: row!.datadir,
    serverUuid,
    startedAt: Math.round(Number(row!.now) - Number(uptime?.Value ?? 0)),
  };
}

/** The identity facts recorded in a snapshot's engineMeta (no secrets, nothing the guards cannot re-read). */
export function identityMeta(server: ServerInfo): Record<string, unknown> {
  return {
    hostname: server.hostname,
    port: server.port,
    datadir: server.datadir,
    server_uuid: server.serverUuid,
    started_at: server.startedAt,
  };
}

/**
 * Are two servers one? `true`/`false` when the facts prove it, with the
 * reason. The same UUID (MySQL) or the same host name, port, data directory
 * and start time is one server; any of them different is two.
 */
export function compareServers(left: ServerInfo, right: ServerInfo): { same: boolean; reason: string } {
  if (left.serverUuid && right.serverUuid) {
    return left.serverUuid === right.serverUuid
      ? { same: true, reason: `the same server UUID ${left.serverUuid}` }
      : { same: false, reason: "different server UUIDs" };
  }
  if (left.hostname !== right.hostname)
    return { same: false, reason: "different server host names (@@hostname)" };
  if (left.port !== right.port) return { same: false, reason: "different server ports (@@port)" };
  if (left.datadir !== right.datadir)
    return { same: false, reason: "different data directories (@@datadir)" };
  if (Math.abs(left.startedAt - right.startedAt) > 2) {
    return { same: false, reason: "servers started at different times (Uptime)" };
  }
  return {
    same: true,
    reason: `the same server (host ${left.hostname}, port ${left.port}, data directory ${left.datadir}, start time)`,
  };
}
