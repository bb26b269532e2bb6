// Materialise a snapshot's dump into a local directory before anything
// touches the target: every artifact is verified as it is saved, so a corrupt
// chunk fails the restore while the target is still as it was.

import { mkdir, mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { LifeboatError } from "../../errors.ts";
import type { ArtifactSource } from "../engine.ts";
import { dumpPrefix, globalsArtifact } from "./capture.ts";

export interface StagedDump {
  /** A pg_dump directory-format archive. */
  readonly dumpDir: string;
  /** The pg_dumpall --globals-only script, when asked for and present. */
  readonly globalsFile: string | undefined;
}

/** A dump file name as pg_dump writes them (toc.dat, 3345.dat, blob_16384.dat, blobs.toc). */
const safeFileName = /^[A-Za-z0-9_.-]+$/;

export async function stageDump(
  artifacts: ArtifactSource,
  tempDir: string,
  withGlobals: boolean,
  signal?: AbortSignal,
): Promise<StagedDump> {
  const staging = await mkdtemp(join(tempDir, "pg-restore-"));
  const dumpDir = join(staging, "dump");
  await mkdir(dumpDir);
  const dumpFiles = artifacts.artifacts.filter((artifact) => artifact.name.startsWith(dumpPrefix));
  if (!dumpFiles.some((artifact) => artifact.name === `${dumpPrefix}toc.dat`)) {
    throw new LifeboatError(
      "OBJECT_MISSING",
      `the snapshot has no ${dumpPrefix}toc.dat: it is not a PostgreSQL dump`,
    );
  }
  for (const artifact of dumpFiles) {
    const fileName = artifact.name.slice(dumpPrefix.length);
    if (!safeFileName.test(fileName) || fileName === "." || fileName === "..") {
      throw new LifeboatError(
        "INTERNAL",
        `refusing to stage artifact ${artifact.name}: unexpected file name`,
      );
    }
    signal?.throwIfAborted(); // a large dump has many files: an interrupted restore stops between them
    await artifacts.saveTo(artifact.name, join(dumpDir, fileName));
  }
  let globalsFile: string | undefined;
  if (withGlobals && artifacts.artifacts.some((artifact) => artifact.name === globalsArtifact)) {
    globalsFile = join(staging, globalsArtifact);
    await artifacts.saveTo(globalsArtifact, globalsFile);
  }
  return { dumpDir, globalsFile };
}
