// Prune for WAL archives: WAL older than the oldest kept base backup of its
// cluster can never be replayed (every recovery starts at a base backup), so
// it goes; everything from that base backup's start segment on stays, on
// every timeline, and history files always stay. How far back that reaches
// is decided by forget, which keeps the base backup a pitr_window starts
// from. A cluster with no base backup left keeps its WAL, unless the source
// has a newer cluster (a re-initialised one) with base backups: the old
// cluster's WAL then belongs to nothing restorable.
//
// Runs under prune's exclusive lock, so no base backup is being taken (a
// backup holds a shared one); wal-push takes no lock but only ever writes
// segments newer than the newest base backup's start.

import type { Engine, PitrSupport } from "../engines/engine.ts";
import type { SourceConfig } from "../engines/config.ts";
import {
  parseWalFileName,
  segmentName,
  segmentNumberOfName,
  segmentOfStreamHead,
  type BaseBackup,
} from "../domain/wal.ts";
import type { Snapshot } from "../domain/snapshot.ts";
import type { OperationContext } from "./context.ts";

export interface WalPruneCluster {
  readonly source: string;
  readonly systemId: string;
  /** The start segment of the oldest kept base backup; null when the cluster has none. */
  readonly keepFrom: string | null;
  readonly delete: readonly string[];
  readonly kept: number;
  readonly reason: string;
}

export interface WalPrunePlan {
  readonly clusters: readonly WalPruneCluster[];
  /** Storage keys a real run deletes, in order. */
  readonly keys: readonly string[];
}

function baseBackupOf(context: OperationContext, snapshot: Snapshot): BaseBackup | undefined {
  let engine: Engine;
  try {
    engine = context.engineFor(snapshot.engine);
  } catch {
    return undefined;
  }
  return (engine.pitr as PitrSupport<SourceConfig> | undefined)?.baseBackupOf(snapshot);
}

export async function planWalPrune(
  context: OperationContext,
  snapshots: readonly Snapshot[],
): Promise<WalPrunePlan> {
  const backups = snapshots.flatMap((snapshot) => {
    const backup = baseBackupOf(context, snapshot);
    return backup ? [{ source: snapshot.source, backup, at: Date.parse(snapshot.consistentAt) }] : [];
  });
  const sources = new Set([...snapshots.map((snapshot) => snapshot.source)]);
  const clusters: WalPruneCluster[] = [];
  for (const source of sources) {
    for (const systemId of await context.repository.listWalClusters(source)) {
      const own = backups.filter((entry) => entry.source === source && entry.backup.systemId === systemId);
      const names = await context.repository.walArchive(source, systemId).list();
      if (own.length === 0) {
        const newer = backups.some((entry) => entry.source === source && entry.backup.systemId !== systemId);
        clusters.push({
          source,
          systemId,
          keepFrom: null,
          delete: newer ? names.sort() : [],
          kept: newer ? 0 : names.length,
          reason: newer
            ? "no base backup of this cluster is left and the source has a newer cluster: nothing can replay this WAL"
            : "no base backup of this cluster is left: its WAL is kept until the source has base backups of another cluster",
        });
        continue;
      }
      const oldest = own.reduce((a, b) => (a.backup.startLsn < b.backup.startLsn ? a : b)).backup;
      const cutoff = oldest.startLsn / BigInt(oldest.segmentSize);
      const archived = new Set(names);
      const doomed = names
        .filter((name) => {
          // A stream head goes with its segment, and once the whole segment is archived.
          const headOf = segmentOfStreamHead(name);
          if (headOf !== undefined && archived.has(headOf)) return true;
          const segment = headOf ?? parseWalFileName(name)?.segment;
          if (segment === undefined || parseWalFileName(name)?.kind === "history") return false;
          return segmentNumberOfName(segment, oldest.segmentSize) < cutoff;
        })
        .sort();
      clusters.push({
        source,
        systemId,
        keepFrom: segmentName(oldest.timeline, cutoff, oldest.segmentSize),
        delete: doomed,
        kept: names.length - doomed.length,
        reason: `WAL before the oldest kept base backup (${oldest.id.slice(0, 8)}) can never be replayed`,
      });
    }
  }
  const keys = clusters.flatMap((cluster) =>
    cluster.delete.map((name) => context.repository.walArchive(cluster.source, cluster.systemId).keyOf(name)),
  );
  return { clusters, keys };
}

/** Delete what the plan names, a few at a time; each deletion is atomic, so an interrupted run is finished by the next. */
export async function applyWalPrune(context: OperationContext, plan: WalPrunePlan): Promise<number> {
  let deleted = 0;
  for (const cluster of plan.clusters) {
    const archive = context.repository.walArchive(cluster.source, cluster.systemId);
    for (let index = 0; index < cluster.delete.length; index += 8) {
      context.signal?.throwIfAborted();
      await Promise.all(cluster.delete.slice(index, index + 8).map((name) => archive.delete(name)));
      deleted += Math.min(8, cluster.delete.length - index);
    }
  }
  return deleted;
}

/** Plan from the repository's listing; `forgotten`: snapshots to treat as gone (forget --dry-run --prune). */
export async function prepareWalPrune(
  context: OperationContext,
  forgotten: ReadonlySet<string> = new Set(),
): Promise<WalPrunePlan> {
  const snapshots = (await context.repository.listSnapshots()).filter(({ id }) => !forgotten.has(id));
  return planWalPrune(context, snapshots);
}

export interface WalPruneOutcome {
  readonly plan: WalPrunePlan;
  /** Files deleted; undefined for a dry run. */
  readonly deleted: number | undefined;
}
