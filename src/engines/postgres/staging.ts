// Materialise a snapshot's dump into a local directory for pg_restore. Every
// artifact is verified as it is read (a damaged chunk makes the stream fail).
// Before the target is touched only toc.dat (and globals.sql) are staged;
// the data files follow while pg_restore already runs (data-load.ts), and
// the partial database is renamed into place only once all of them verified.

import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { ArtifactRef } from "../../domain/snapshot.ts";
import { LifeboatError } from "../../errors.ts";
import type { ArtifactSource } from "../engine.ts";
import { dumpPrefix, globalsArtifact } from "./capture.ts";

export interface StagedToc {
  /** Private directory for this restore's files. */
  readonly stagingDir: string;
  /** A pg_dump directory-format archive; holds only toc.dat until the data files are staged. */
  readonly dumpDir: string;
  /** The pg_dumpall --globals-only script, when asked for and present. */
  readonly globalsFile: string | undefined;
  /** Every dump artifact but toc.dat: table data, large objects and their TOCs. */
  readonly dataFiles: readonly ArtifactRef[];
}

/** A dump file name as pg_dump writes them (toc.dat, 3345.dat, blob_16384.dat, blobs.toc). */
const safeFileName = /^[A-Za-z0-9_.-]+$/;
const tocName = `${dumpPrefix}toc.dat`;

export async function stageToc(
  artifacts: ArtifactSource,
  tempDir: string,
  withGlobals: boolean,
): Promise<StagedToc> {
  const dumpFiles = artifacts.artifacts.filter((artifact) => artifact.name.startsWith(dumpPrefix));
  if (!dumpFiles.some((artifact) => artifact.name === tocName)) {
    throw new LifeboatError("OBJECT_MISSING", `the snapshot has no ${tocName}: it is not a PostgreSQL dump`);
  }
  for (const artifact of dumpFiles) {
    const fileName = dumpFileName(artifact);
    if (!safeFileName.test(fileName) || fileName === "." || fileName === "..") {
      throw new LifeboatError(
        "INTERNAL",
        `refusing to stage artifact ${artifact.name}: unexpected file name`,
      );
    }
  }
  const stagingDir = await mkdtemp(join(tempDir, "pg-restore-"));
  const dumpDir = join(stagingDir, "dump");
  await mkdir(dumpDir);
  await stageFile(artifacts, tocName, join(dumpDir, "toc.dat"));
  let globalsFile: string | undefined;
  if (withGlobals && artifacts.artifacts.some((artifact) => artifact.name === globalsArtifact)) {
    globalsFile = join(stagingDir, globalsArtifact);
    await stageFile(artifacts, globalsArtifact, globalsFile);
  }
  const dataFiles = dumpFiles.filter((artifact) => artifact.name !== tocName);
  return { stagingDir, dumpDir, globalsFile, dataFiles };
}

/** The file name inside the dump directory. */
export function dumpFileName(artifact: ArtifactRef): string {
  return artifact.name.slice(dumpPrefix.length);
}

/**
 * Stream one artifact into a new file; rejects on any damage (the stream
 * verifies every chunk and, at its end, the whole artifact). No fsync: the
 * staging directory is thrown away, and a crash means a new restore.
 */
export async function stageFile(artifacts: ArtifactSource, name: string, path: string): Promise<void> {
  await pipeline(artifacts.open(name), createWriteStream(path, { flags: "wx", mode: 0o600 }));
}

/** Stage every data file before pg_restore starts: the fallback when the dump cannot be loaded in phases. */
export async function stageAll(
  artifacts: ArtifactSource,
  staged: StagedToc,
  signal: AbortSignal | undefined,
): Promise<void> {
  await forEachConcurrently(staged.dataFiles, 4, async (artifact) => {
    signal?.throwIfAborted(); // a large dump has many files: an interrupted restore stops between them
    await stageFile(artifacts, artifact.name, join(staged.dumpDir, dumpFileName(artifact)));
  });
}

/** Run `each` over `items`, `limit` at a time; the first failure stops the rest and is thrown once all settled. */
export async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  each: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      try {
        await each(items[next++]!);
      } catch (error) {
        failed = true; // the other lanes stop after their current item
        throw error;
      }
    }
  };
  // Every lane settles before the failure is thrown: no write outlives the staging.
  const lanes = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, lane));
  const failure = lanes.find((result) => result.status === "rejected");
  if (failure) throw failure.reason;
}
