// Planning a restore is a pure function of what we know: the snapshot, the
// target's state and the flags. The same plan drives --dry-run output and the
// real run, so a dry run shows exactly what a real run would do.

import type { Snapshot } from "../domain/snapshot.ts";
import type { RestoreOptions, TargetState } from "../engines/engine.ts";
import { LifeboatError } from "../errors.ts";

export interface RestorePlan {
  readonly snapshot: string;
  readonly source: string;
  readonly target: string;
  readonly targetState: TargetState;
  /** Human-readable steps, in order. */
  readonly steps: readonly string[];
  /** True when existing data at the target will be replaced. */
  readonly replacesExisting: boolean;
}

export function planRestore(input: {
  snapshot: Snapshot;
  target: string;
  targetState: TargetState;
  targetIsSource: boolean;
  options: RestoreOptions;
}): RestorePlan {
  const { snapshot, target, targetState, options } = input;
  if (input.targetIsSource) {
    throw new LifeboatError("TARGET_IS_SOURCE", `${target} is the source ${snapshot.source} itself`, {
      details: { target, source: snapshot.source },
    });
  }
  const replace = snapshot.engine === "files" ? options.force : options.clean || options.force;
  if (targetState.exists && !targetState.empty && !replace) {
    const flag = snapshot.engine === "files" ? "--force" : "--clean";
    throw new LifeboatError("TARGET_NOT_EMPTY", `target ${targetState.description} is not empty`, {
      details: { target },
      hint: `Restore into a new or empty target, or pass ${flag} to replace what is there.`,
    });
  }
  const replacesExisting = targetState.exists && !targetState.empty;
  const bytes = snapshot.artifacts.reduce((sum, artifact) => sum + artifact.size, 0);
  const chunks = new Set(snapshot.artifacts.flatMap((artifact) => artifact.chunks)).size;
  const steps = [
    `fetch and verify ${snapshot.artifacts.length} artifact(s), ${bytes} bytes in ${chunks} chunk(s)`,
    replacesExisting
      ? `replace the existing ${targetState.description}`
      : `create ${targetState.description}`,
    `restore snapshot ${snapshot.id.slice(0, 8)} (${snapshot.engine}) into ${target}`,
    "fingerprint the target and compare with the snapshot's fingerprint",
  ];
  return {
    snapshot: snapshot.id,
    source: snapshot.source,
    target,
    targetState,
    steps,
    replacesExisting,
  };
}
