// Restore one snapshot into a target and prove it (restore-and-verify.ts):
// the restored copy is fingerprinted and compared with the fingerprint taken
// at backup before it replaces anything. A restore that does not match is a
// failure (VERIFICATION_FAILED) and the target is left as it was.

import { Transform, type Readable } from "node:stream";
import type { ArtifactSource, ByteRange } from "../domain/artifacts.ts";
import { totalSize, type Snapshot } from "../domain/snapshot.ts";
import type { SourceConfig } from "../engines/config.ts";
import type {
  Engine,
  EngineContext,
  PartialRestoreSummary,
  PreserveRequest,
  RestoreOptions,
  TargetIdentity,
} from "../engines/engine.ts";
import { isLifeboatError, LifeboatError } from "../errors.ts";
import { planRestore, type Preservation, type RestorePlan } from "../plan/restore.ts";
import { backupSource } from "./backup.ts";
import type { OperationContext } from "./context.ts";
import { restoreAndVerify, type RestorePhases } from "./restore-and-verify.ts";
import type { PreservedRecord } from "../domain/preserved.ts";
import { preserveFor } from "./preserve-request.ts";
import { withTempDir } from "./temp-dir.ts";

export interface RestoreRequest {
  readonly sourceName: string;
  /** The source's current config, when it is still declared: used to refuse restoring over it. */
  readonly source?: SourceConfig;
  readonly selector: string;
  readonly target: string;
  readonly options: RestoreOptions;
  readonly dryRun: boolean;
  /** The user vouches that the target is not the source when Lifeboat cannot prove it (--target-not-source). */
  readonly targetNotSource?: boolean;
  /** Keep what the restore replaces (restore's default; false with --no-preserve). */
  readonly preserve?: boolean;
  /** Told of each copy kept the moment it is, so a restore that fails afterwards still records it. */
  readonly onKept?: (copy: PreservedRecord) => void;
}

export interface RestoreResult {
  readonly plan: RestorePlan;
  readonly dryRun: boolean;
  readonly snapshot: Snapshot;
  /** Seconds spent in each phase; empty for a dry run. */
  readonly phases: RestorePhases;
  readonly verified: boolean;
  /** What a partial restore (options.selection) took. */
  readonly partial?: PartialRestoreSummary;
  /** The replaced data kept aside (empty: nothing was replaced, or --no-preserve). */
  readonly preserved: readonly PreservedRecord[];
}

export async function restoreSnapshot(
  context: OperationContext,
  request: RestoreRequest,
): Promise<RestoreResult> {
  const snapshot = await findSnapshotOfSource(context, request);
  const engine = context.engineFor(snapshot.engine);
  if (request.source && request.source.engine !== snapshot.engine) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `snapshot ${snapshot.id.slice(0, 8)} is a ${snapshot.engine} snapshot but source ${request.sourceName} is now declared as ${request.source.engine}`,
    );
  }
  const target = engine.checkTarget(request.target);
  const keep = request.preserve
    ? preserveFor(context, { source: request.sourceName, engine: snapshot.engine, target: request.target })
    : undefined;
  const options: RestoreOptions = keep
    ? {
        ...request.options,
        preserve: {
          stamp: keep.request.stamp,
          kept: (copy) => {
            keep.request.kept(copy);
            request.onKept?.(keep.kept.at(-1)!);
          },
        },
      }
    : request.options;
  return withTempDir("restore", async (tempDir) => {
    const engineContext: EngineContext = {
      runner: context.runner,
      log: context.log,
      tempDir,
      ...(context.signal ? { signal: context.signal } : {}),
      restoring: { engineMeta: snapshot.engineMeta, ...(request.source ? { source: request.source } : {}) },
    };
    const identity: TargetIdentity = request.source
      ? await engine.identifyTarget(request.source, target, engineContext, snapshot.engineMeta)
      : {
          verdict: "unknown",
          reason: `source ${request.sourceName} is no longer declared in lifeboat.yaml, so there is nothing to compare the target with`,
        };
    const targetState = await engine.inspectTarget(target, engineContext);
    const preservation = preservationOf(engine, request.source, target);
    const plan = planRestore({
      snapshot,
      engine,
      target: request.target,
      targetState,
      identity,
      options,
      targetNotSource: request.targetNotSource === true,
      preservation,
    });
    if (request.dryRun) return { plan, dryRun: true, snapshot, phases: {}, verified: false, preserved: [] };

    if (options.preserve && plan.replacesExisting && preservation === "snapshot")
      await snapshotTargetFirst(context, engine, request, target, options.preserve);

    // A partial restore reads an unknown share of the artifacts: a bar without a total, not one stuck at 3 %.
    const total = request.options.selection ? undefined : totalSize(snapshot);
    context.progress.start(`restore ${request.sourceName}`, total);
    try {
      const verified = await restoreAndVerify({
        engine,
        snapshot,
        artifacts: progressTracked(context, context.repository.openArtifacts(snapshot)),
        target,
        options,
        context: engineContext,
        now: () => context.now().getTime(),
        onPhase: (phase) => context.progress.phase?.(phase),
      });
      return {
        plan,
        dryRun: false,
        snapshot,
        phases: verified.phases,
        verified: true,
        ...(verified.partial ? { partial: verified.partial } : {}),
        preserved: keep?.kept ?? [],
      };
    } finally {
      context.progress.stop();
    }
  });
}

/** The snapshots that keep a target a restore could not rename aside are of this source. */
export function preRestoreSourceName(sourceName: string): string {
  return sourceName.endsWith(".pre-restore") ? sourceName : `${sourceName}.pre-restore`;
}

function preservationOf(engine: Engine, source: SourceConfig | undefined, target: string): Preservation {
  if (engine.capabilities.preservesReplaced) return "rename";
  return source && engine.sourceForTarget?.(source, target) ? "snapshot" : "none";
}

/**
 * Keep a target the engine cannot rename aside (a Redis server, NATS
 * streams) as a snapshot of it, taken before the restore touches it, under
 * the source `<source>.pre-restore` (so it is never the source's `latest`)
 * and tagged pre-restore. `restore --undo` restores it back.
 */
async function snapshotTargetFirst(
  context: OperationContext,
  engine: Engine,
  request: RestoreRequest,
  target: string,
  preserve: PreserveRequest,
): Promise<void> {
  const config = engine.sourceForTarget!(request.source!, target)!;
  const name = preRestoreSourceName(request.sourceName);
  context.log.info(`keeping what the restore replaces: a snapshot of the target first, as source ${name}`);
  // The engine returns a config of its own kind: a SourceConfig of the same engine.
  const { snapshot } = await backupSource(context, name, config as SourceConfig, { tags: ["pre-restore"] });
  preserve.kept({
    kind: "snapshot",
    location: snapshot.id,
    note: `a snapshot of the target, source ${name}`,
  });
}

/**
 * The snapshot to restore. A name that is neither declared nor has any
 * snapshot is a mistyped source (UNKNOWN_SOURCE, as `backup` says), not a
 * missing snapshot; a source removed from the config still restores.
 */
async function findSnapshotOfSource(context: OperationContext, request: RestoreRequest): Promise<Snapshot> {
  try {
    return await context.repository.findSnapshot(request.selector, request.sourceName);
  } catch (error) {
    if (request.source || !isLifeboatError(error, "SNAPSHOT_NOT_FOUND")) throw error;
    const withSnapshots = [...new Set((await context.repository.listSnapshots()).map((s) => s.source))];
    if (withSnapshots.includes(request.sourceName)) throw error;
    throw new LifeboatError("UNKNOWN_SOURCE", `no source named ${request.sourceName}`, {
      details: { source: request.sourceName, withSnapshots },
      hint: `Sources with snapshots: ${withSnapshots.join(", ") || "(none yet)"}. Run \`lifeboat snapshots\` to list them.`,
    });
  }
}

/** Report restore progress by counting bytes as artifacts stream out of the repository. */
function progressTracked(context: OperationContext, artifacts: ArtifactSource): ArtifactSource {
  const counted = (stream: Readable) => {
    const counter = new Transform({
      transform(chunk: Uint8Array, _encoding, done) {
        context.progress.advance(chunk.length);
        done(null, chunk);
      },
    });
    stream.on("error", (error) => counter.destroy(error));
    return stream.pipe(counter);
  };
  const ranged = artifacts.openRanges?.bind(artifacts);
  return {
    artifacts: artifacts.artifacts,
    open: (name, options) => counted(artifacts.open(name, options)),
    ...(ranged
      ? { openRanges: (name: string, ranges: readonly ByteRange[]) => counted(ranged(name, ranges)) }
      : {}),
    async saveTo(name, path) {
      await artifacts.saveTo(name, path);
      context.progress.advance(artifacts.artifacts.find((artifact) => artifact.name === name)?.size ?? 0);
    },
  };
}
