// Restore one snapshot into a target, then prove it: fingerprint the target
// and compare with the fingerprint taken at backup. A restore that does not
// match is a failure (VERIFICATION_FAILED), never a quiet success.

import { Transform } from "node:stream";
import type { SourceConfig } from "../config/schema.ts";
import { compareFingerprints, type FingerprintDifference } from "../domain/fingerprint.ts";
import type { Snapshot } from "../domain/snapshot.ts";
import type { EngineContext, RestoreOptions } from "../engines/engine.ts";
import { LifeboatError } from "../errors.ts";
import { planRestore, type RestorePlan } from "../plan/restore.ts";
import type { OperationContext } from "./context.ts";
import { withTempDir } from "./temp-dir.ts";

export interface RestoreRequest {
  readonly sourceName: string;
  /** The source's current config, when it is still declared: used to refuse restoring over it. */
  readonly source?: SourceConfig;
  readonly selector: string;
  readonly target: string;
  readonly options: RestoreOptions;
  readonly dryRun: boolean;
}

export interface RestoreResult {
  readonly plan: RestorePlan;
  readonly dryRun: boolean;
  readonly snapshot: Snapshot;
  /** Seconds spent in each phase; empty for a dry run. */
  readonly phases: { restore?: number; verify?: number };
  readonly verified: boolean;
  readonly differences: readonly FingerprintDifference[];
}

export async function restoreSnapshot(
  context: OperationContext,
  request: RestoreRequest,
): Promise<RestoreResult> {
  const snapshot = await context.repository.findSnapshot(request.selector, request.sourceName);
  const engine = context.engineFor(snapshot.engine);
  if (request.source && request.source.engine !== snapshot.engine) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `snapshot ${snapshot.id.slice(0, 8)} is a ${snapshot.engine} snapshot but source ${request.sourceName} is now declared as ${request.source.engine}`,
    );
  }
  return withTempDir("restore", async (tempDir) => {
    const engineContext: EngineContext = {
      runner: context.runner,
      log: context.log,
      tempDir,
      ...(context.signal ? { signal: context.signal } : {}),
    };
    const targetIsSource = request.source
      ? await engine.isSameAsSource(request.source, request.target, engineContext)
      : false;
    const targetState = await engine.inspectTarget(request.target, engineContext);
    const plan = planRestore({
      snapshot,
      target: request.target,
      targetState,
      targetIsSource,
      options: request.options,
    });
    if (request.dryRun) return { plan, dryRun: true, snapshot, phases: {}, verified: false, differences: [] };

    const restoreStart = context.now().getTime();
    const total = snapshot.artifacts.reduce((sum, artifact) => sum + artifact.size, 0);
    context.progress.start(`restore ${request.sourceName}`, total);
    try {
      await engine.restore(
        {
          artifacts: progressTracked(context, context.repository.openArtifacts(snapshot)),
          engineMeta: snapshot.engineMeta,
        },
        request.target,
        request.options,
        engineContext,
      );
    } finally {
      context.progress.stop();
    }
    const verifyStart = context.now().getTime();
    const actual = await engine.fingerprint(request.target, engineContext, {
      contentHashes: Object.keys(snapshot.fingerprint.hashes).some((key) => key.startsWith("content:")),
    });
    const differences = compareFingerprints(snapshot.fingerprint, actual);
    const phases = {
      restore: (verifyStart - restoreStart) / 1000,
      verify: (context.now().getTime() - verifyStart) / 1000,
    };
    if (differences.length > 0) {
      const shown = differences
        .slice(0, 10)
        .map((d) => `${d.key}: expected ${d.expected}, found ${d.actual}`);
      throw new LifeboatError(
        "VERIFICATION_FAILED",
        `restored ${request.target} does not match snapshot ${snapshot.id.slice(0, 8)}:\n  ${shown.join("\n  ")}`,
        { details: { differences, phases } },
      );
    }
    return { plan, dryRun: false, snapshot, phases, verified: true, differences };
  });
}

/** Report restore progress by counting bytes as artifacts stream out of the repository. */
function progressTracked(
  context: OperationContext,
  artifacts: ReturnType<OperationContext["repository"]["openArtifacts"]>,
): typeof artifacts {
  return {
    artifacts: artifacts.artifacts,
    open(name) {
      const stream = artifacts.open(name);
      const counter = new Transform({
        transform(chunk: Uint8Array, _encoding, done) {
          context.progress.advance(chunk.length);
          done(null, chunk);
        },
      });
      stream.on("error", (error) => counter.destroy(error));
      return stream.pipe(counter);
    },
    async saveTo(name, path) {
      await artifacts.saveTo(name, path);
      context.progress.advance(artifacts.artifacts.find((artifact) => artifact.name === name)?.size ?? 0);
    },
  };
}
