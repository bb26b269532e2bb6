// Is a restore target the source itself? Addresses prove nothing (an alias,
// another loopback address or a port forward reach the same server under
// another name), so the verdict is `different` only when something proves
// it: another database name than any the source captures, or server facts
// that differ (server-info.ts), read from both servers at the same time.
// When the source cannot be asked, the facts the snapshot recorded stand in;
// when nothing can be read, the answer is `unknown`, never a guess.

import type { Engine, EngineContext, TargetIdentity } from "../engine.ts";
import type { MariadbSourceConfig } from "./config.ts";
import { connect, parseMariadbUrl, sourceScope, withDatabase, type MariadbLocation } from "./connection.ts";
import { targetLocation } from "./fingerprint.ts";
import { listUserDatabases } from "./schema.ts";
import { compareServers, readServerInfo, type ServerInfo } from "./server-info.ts";

type Recorded = Parameters<Engine<MariadbSourceConfig>["identifyTarget"]>[3];

interface Reading {
  readonly info?: ServerInfo;
  readonly databases?: readonly string[];
  readonly error?: string;
}

async function read(location: MariadbLocation, withDatabases: boolean): Promise<Reading> {
  try {
    const connection = await connect(withDatabase(location, undefined), "TARGET_UNREACHABLE");
    try {
      const info = await readServerInfo(connection);
      return withDatabases ? { info, databases: await listUserDatabases(connection) } : { info };
    } finally {
      await connection.end().catch(() => connection.destroy());
    }
  } catch (error) {
    return { error: (error as Error).message };
  }
}

export async function identifyTarget(
  source: MariadbSourceConfig,
  target: string,
  _context: EngineContext,
  recorded?: Recorded,
): Promise<TargetIdentity> {
  const targetLoc = targetLocation(target);
  const database = targetLoc.database!;
  const sourceLoc = parseMariadbUrl(source.url, "source", source.password_env);
  const { named } = sourceScope(source);
  if (named && !named.includes(database)) {
    return { verdict: "different", reason: `another database name (the source is ${named.join(", ")})` };
  }
  // Both servers are read at the same time, so a restart cannot fall between the two readings.
  const [sourceReading, targetReading] = await Promise.all([
    read(sourceLoc, named === undefined),
    read(targetLoc, false),
  ]);
  if (!targetReading.info)
    return { verdict: "unknown", reason: `target unreachable: ${targetReading.error}` };
  if (sourceReading.info) {
    if (named === undefined && !(sourceReading.databases ?? []).includes(database)) {
      return { verdict: "different", reason: `database ${database} is not one of the source's databases` };
    }
    const compared = compareServers(sourceReading.info, targetReading.info);
    return { verdict: compared.same ? "same" : "different", reason: compared.reason };
  }
  return fromRecorded(recorded, targetReading.info, database, sourceReading.error ?? "");
}

/** The source cannot be asked: compare the target with the server facts the snapshot recorded. */
function fromRecorded(
  recorded: Recorded,
  target: ServerInfo,
  database: string,
  sourceError: string,
): TargetIdentity {
  if (!recorded || typeof recorded.datadir !== "string" || typeof recorded.hostname !== "string") {
    return {
      verdict: "unknown",
      reason: `source unreachable (${sourceError}) and no recorded server identity`,
    };
  }
  const databases = Array.isArray(recorded.databases) ? (recorded.databases as string[]) : [];
  if (!databases.includes(database)) {
    return { verdict: "different", reason: `database ${database} is not one the snapshot captured` };
  }
  if (typeof recorded.server_uuid === "string" && target.serverUuid) {
    return recorded.server_uuid === target.serverUuid
      ? { verdict: "same", reason: "the target server has the source's recorded server UUID" }
      : { verdict: "different", reason: "the target server's UUID differs from the source's recorded one" };
  }
  const same =
    recorded.hostname === target.hostname &&
    Number(recorded.port) === target.port &&
    recorded.datadir === target.datadir;
  return same
    ? {
        verdict: "same",
        reason: "the target server has the source's recorded host name, port and data directory",
      }
    : {
        verdict: "different",
        reason:
          "the target server's host name, port or data directory differs from the source's recorded ones",
      };
}
