// Looking at a NATS restore target without changing it: its streams (for
// guards and --dry-run), its fingerprint (every stream of the account, read
// the way capture reads the source), and whether it is the source itself,
// judged by what the servers say about themselves in their INFO.

import type { ServerInfo } from "@nats-io/transport-node";
import type { Fingerprint } from "../../domain/fingerprint.ts";
import type { EngineContext, TargetIdentity, TargetState } from "../engine.ts";
import type { NatsSourceConfig } from "./config.ts";
import {
  openManager,
  parseNatsUrl,
  sourceEndpoint,
  targetEndpoint,
  withConnection,
  type NatsEndpoint,
} from "./connection.ts";
import { fingerprintOf, listStreamNames, readStreamFacts } from "./facts.ts";

export function checkNatsTarget(target: string): string {
  parseNatsUrl(target, "target");
  return target;
}

/** The streams of the snapshot a restore or drill is about (EngineContext.restoring), if known. */
function snapshotStreams(context?: EngineContext): Set<string> | undefined {
  const streams = context?.restoring?.engineMeta.streams;
  return Array.isArray(streams) ? new Set(streams.map(String)) : undefined;
}

/**
 * During a restore the target counts as empty when it has none of the
 * snapshot's streams (other streams are left alone and not compared);
 * otherwise any stream makes it not empty.
 */
export async function inspectNatsTarget(target: string, context?: EngineContext): Promise<TargetState> {
  const endpoint = targetEndpoint(target);
  const wanted = snapshotStreams(context);
  return withConnection(endpoint, "TARGET_UNREACHABLE", async (connection) => {
    const names = await listStreamNames(await openManager(connection, "target"));
    const clashing = wanted ? names.filter((name) => wanted.has(name)) : names;
    const server = `NATS server ${endpoint.address} (${connection.info?.server_name ?? "unnamed"})`;
    const shown = names.slice(0, 10).join(", ") + (names.length > 10 ? ", ..." : "");
    return {
      exists: true,
      empty: clashing.length === 0,
      description:
        names.length === 0
          ? `${server}, no streams`
          : `${server}, ${names.length} ${names.length === 1 ? "stream" : "streams"}: ${shown}` +
            (wanted && clashing.length > 0 ? ` (already has ${clashing.join(", ")} of the snapshot)` : ""),
    };
  });
}

/** The target's streams fingerprinted as capture does: during a restore, only the snapshot's streams. */
export async function fingerprintNatsTarget(target: string, context?: EngineContext): Promise<Fingerprint> {
  const wanted = snapshotStreams(context);
  return withConnection(targetEndpoint(target), "TARGET_UNREACHABLE", async (connection) => {
    const jsm = await openManager(connection, "target");
    const facts = [];
    for (const name of await listStreamNames(jsm))
      if (!wanted || wanted.has(name)) facts.push(await readStreamFacts(jsm, name));
    return fingerprintOf(facts);
  });
}

async function serverInfo(endpoint: NatsEndpoint, code: "SOURCE_UNREACHABLE" | "TARGET_UNREACHABLE") {
  try {
    return await withConnection(endpoint, code, async (connection) => connection.info);
  } catch (error) {
    return error as Error;
  }
}

/** Two INFOs of the same JetStream: the same server, or members of one cluster (they share streams). */
function sameJetStream(left: ServerInfo, right: ServerInfo): string | undefined {
  if (left.server_id === right.server_id) return `the same server (server_id ${left.server_id})`;
  if (left.cluster && left.cluster === right.cluster) {
    return `both are members of cluster ${left.cluster}, which shares its streams`;
  }
  return undefined;
}

export async function identifyNatsTarget(
  source: NatsSourceConfig,
  target: string,
  recorded?: Readonly<Record<string, unknown>>,
): Promise<TargetIdentity> {
  const targetInfo = await serverInfo(targetEndpoint(target), "TARGET_UNREACHABLE");
  if (targetInfo instanceof Error || !targetInfo) {
    return { verdict: "unknown", reason: `target unreachable: ${targetInfo?.message ?? "no INFO"}` };
  }
  let sourceInfo: ServerInfo | Error | undefined;
  try {
    sourceInfo = await serverInfo(sourceEndpoint(source), "SOURCE_UNREACHABLE");
  } catch (error) {
    sourceInfo = error as Error; // a missing password variable: the source cannot be asked
  }
  if (sourceInfo instanceof Error || !sourceInfo) {
    // server_id changes at every start, so a match is this very server. A server_name stays, but a
    // replacement server is often given the old one's name: that is for the user to confirm.
    const recordedName = typeof recorded?.server_name === "string" ? recorded.server_name : undefined;
    const recordedId = typeof recorded?.server_id === "string" ? recorded.server_id : undefined;
    if (recordedId === targetInfo.server_id) {
      return {
        verdict: "same",
        reason: `the target is the server the snapshot was taken from (server_id ${recordedId})`,
      };
    }
    if (recordedName && recordedName === targetInfo.server_name) {
      return {
        verdict: "unknown",
        reason: `source unreachable, and the target has the source's server_name ${recordedName} (a replacement, or the source restarted?)`,
      };
    }
    return {
      verdict: "unknown",
      reason: `source unreachable (${sourceInfo?.message ?? "no INFO"}), so Lifeboat cannot prove the target is another server`,
    };
  }
  const same = sameJetStream(sourceInfo, targetInfo);
  if (same) return { verdict: "same", reason: same };
  return {
    verdict: "different",
    reason: `different servers (server_id ${sourceInfo.server_id} and ${targetInfo.server_id}, not one cluster)`,
  };
}
