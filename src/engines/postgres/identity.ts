// Is a restore target the source itself? Same database name on the same
// cluster. Clusters are told apart by pg_control_system()'s system
// identifier, which survives DNS aliases and port forwards; when it cannot be
// read, host, port and database are compared, treating every local address
// as the same machine so that doubt leans towards refusing.

import type { PostgresSourceConfig } from "../../config/schema.ts";
import { connect, parsePostgresUrl, type PgLocation } from "./connection.ts";
import { readServerInfo } from "./server-info.ts";
import { connectMaintenance } from "./target.ts";

export async function isSameAsSource(source: PostgresSourceConfig, target: string): Promise<boolean> {
  const sourceLocation = parsePostgresUrl(source.url, "source");
  const targetLocation = parsePostgresUrl(target, "target");
  if (sourceLocation.database !== targetLocation.database) return false;
  const [sourceId, targetId] = await Promise.all([
    systemIdentifier(() => connect(sourceLocation, "SOURCE_UNREACHABLE")),
    systemIdentifier(() => connectMaintenance(targetLocation, "TARGET_UNREACHABLE")),
  ]);
  if (sourceId && targetId) return sourceId === targetId;
  return serverKey(sourceLocation) === serverKey(targetLocation);
}

async function systemIdentifier(open: () => ReturnType<typeof connect>): Promise<string | null> {
  try {
    const client = await open();
    try {
      return (await readServerInfo(client)).systemIdentifier;
    } finally {
      await client.end().catch(() => {});
    }
  } catch {
    return null; // unreachable: fall back to comparing addresses
  }
}

const localHosts = new Set(["localhost", "127.0.0.1", "::1", ""]);

export function serverKey(location: PgLocation): string {
  const rawHost = (location.host ?? process.env.PGHOST ?? "").toLowerCase();
  // A socket directory is local too.
  const host = localHosts.has(rawHost) || rawHost.startsWith("/") ? "local" : rawHost;
  const port = location.port ?? (Number(process.env.PGPORT) || 5432);
  return `${host}:${port}`;
}
