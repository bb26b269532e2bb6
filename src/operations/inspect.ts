// `ls` and `diff`: what snapshots hold, read from manifests and the small
// metadata artifacts engines describe them with (a tree index, a dump's table
// of contents), never from their data. Engines without describeSnapshot are
// described by their fingerprint: a table per `rows:` count.

import type { Snapshot } from "../domain/snapshot.ts";
import type { EngineContext, SnapshotContents, SnapshotObject } from "../engines/engine.ts";
import { isLifeboatError, LifeboatError } from "../errors.ts";
import { diffSnapshots, type SnapshotDiff } from "../plan/snapshot-diff.ts";
import type { OperationContext } from "./context.ts";
import { withTempDir } from "./temp-dir.ts";

/** Tables from the fingerprint's `rows:<name>` counts: what any database engine records. */
export function contentsFromFingerprint(snapshot: Snapshot): SnapshotContents {
  const objects: SnapshotObject[] = Object.entries(snapshot.fingerprint.counts)
    .filter(([key]) => key.startsWith("rows:"))
    .map(([key, rows]) => ({ type: "table", name: key.slice("rows:".length), rows }));
  return { kind: "objects", objects };
}

export async function describeSnapshot(
  context: OperationContext,
  snapshot: Snapshot,
): Promise<SnapshotContents> {
  let describe;
  try {
    describe = context.engineFor(snapshot.engine).describeSnapshot;
  } catch (error) {
    // A snapshot of an engine this build lacks still lists from its manifest.
    if (!isLifeboatError(error, "UNKNOWN_ENGINE")) throw error;
  }
  if (!describe) return contentsFromFingerprint(snapshot);
  return withTempDir("inspect", (tempDir) => {
    const engineContext: EngineContext = {
      runner: context.runner,
      log: context.log,
      tempDir,
      ...(context.signal ? { signal: context.signal } : {}),
    };
    return describe(snapshot, context.repository.openArtifacts(snapshot), engineContext);
  });
}

/** `latest` needs a source to be the latest of; ids and prefixes do not. */
export async function selectSnapshot(
  context: OperationContext,
  selector: string,
  source: string | undefined,
): Promise<Snapshot> {
  if (selector === "latest" && source === undefined) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      "`latest` needs --source NAME: the latest snapshot of which source?",
      {
        hint: "Give a snapshot id (or a unique prefix, as `lifeboat snapshots` shows), or --source NAME.",
      },
    );
  }
  return context.repository.findSnapshot(selector, source);
}

export interface SnapshotComparison {
  readonly before: Snapshot;
  readonly after: Snapshot;
  readonly diff: SnapshotDiff;
}

export async function compareSnapshots(
  context: OperationContext,
  first: Snapshot,
  second: Snapshot,
): Promise<SnapshotComparison> {
  if (first.source !== second.source) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `snapshot ${first.id.slice(0, 8)} is of ${first.source} and ${second.id.slice(0, 8)} of ${second.source}: diff compares two snapshots of one source`,
    );
  }
  // As restic's diff: from the first named to the second, "added" meaning added in the second.
  const [before, after] = [first, second];
  const diff = diffSnapshots(
    { contents: await describeSnapshot(context, before), fingerprint: before.fingerprint },
    { contents: await describeSnapshot(context, after), fingerprint: after.fingerprint },
  );
  return { before, after, diff };
}
