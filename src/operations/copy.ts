// Copy snapshots from one repository to another. The two never share chunk
// ids (each repository's MAC key names its chunks and seeds its chunker), so
// a copy cannot move objects: it streams each artifact's verified plaintext
// out of the source into the destination's own snapshot writer, which
// re-chunks, deduplicates against the destination and encrypts under its key
// (restic copies the same way when chunker parameters differ). Every chunk is
// authenticated as it is read, and the artifact's whole-stream SHA-256 is
// checked at its end, so damage in the source fails that snapshot, naming the
// object, before its manifest is written: the destination never gets a
// snapshot that would not restore. Only the manifest commit makes a copy
// visible; a failed or interrupted one leaves unreferenced chunks only.

import { addAbortSignal } from "node:stream";
import type { Snapshot } from "../domain/snapshot.ts";
import { LifeboatError } from "../errors.ts";
import type { Repository, WriteStats } from "../repository/types.ts";

export interface CopiedSnapshot {
  readonly from: Snapshot;
  readonly to: Snapshot;
  readonly stats: WriteStats;
}

export interface CopyFailure {
  readonly snapshot: Snapshot;
  readonly error: LifeboatError;
}

export interface CopyOutcome {
  readonly copied: readonly CopiedSnapshot[];
  readonly failures: readonly CopyFailure[];
}

export interface CopyOptions {
  /** Stops the copy: between snapshots, and mid-artifact by ending the read stream. */
  readonly signal?: AbortSignal;
  readonly onCopied?: (copied: CopiedSnapshot) => void;
  readonly onFailed?: (failure: CopyFailure) => void;
}

/**
 * Copy each snapshot in turn. A snapshot that cannot be read fails alone (the
 * others are still worth having offsite); an abort stops everything.
 */
export async function copySnapshots(
  from: Repository,
  to: Repository,
  snapshots: readonly Snapshot[],
  options: CopyOptions = {},
): Promise<CopyOutcome> {
  const copied: CopiedSnapshot[] = [];
  const failures: CopyFailure[] = [];
  for (const snapshot of snapshots) {
    options.signal?.throwIfAborted();
    try {
      const result = await copyOne(from, to, snapshot, options.signal);
      copied.push(result);
      options.onCopied?.(result);
    } catch (error) {
      options.signal?.throwIfAborted(); // the abort, not what it did to the stream, is the cause
      const failure = { snapshot, error: asLifeboatError(error, snapshot) };
      failures.push(failure);
      options.onFailed?.(failure);
    }
  }
  return { copied, failures };
}

async function copyOne(
  from: Repository,
  to: Repository,
  snapshot: Snapshot,
  signal: AbortSignal | undefined,
): Promise<CopiedSnapshot> {
  const source = from.openArtifacts(snapshot);
  const writer = await to.newSnapshotWriter();
  for (const artifact of snapshot.artifacts) {
    const stream = source.open(artifact.name);
    const written = await writer.write(artifact.name, signal ? addAbortSignal(signal, stream) : stream);
    // The source verified its hash; this guards the writer: the copy must hold the same bytes.
    if (written.sha256 !== artifact.sha256 || written.size !== artifact.size) {
      throw new LifeboatError(
        "INTERNAL",
        `copy of artifact ${artifact.name} of snapshot ${snapshot.id} wrote other bytes than it read`,
      );
    }
  }
  const { id: _id, artifacts: _artifacts, ...draft } = snapshot;
  const copy = await writer.commit(draft);
  return { from: snapshot, to: copy, stats: writer.stats };
}

function asLifeboatError(error: unknown, snapshot: Snapshot): LifeboatError {
  if (error instanceof LifeboatError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new LifeboatError("INTERNAL", `copy of snapshot ${snapshot.id} failed: ${message}`, {
    cause: error,
  });
}
