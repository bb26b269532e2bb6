// The files engine: a directory tree as one deterministic tar artifact,
// restored by extract-beside-then-rename. See capture.ts and restore.ts for
// what is kept and what a concurrent writer or a kill can do.

import type { Engine } from "../engine.ts";
import { checkLocalPath } from "../local-target.ts";
import { captureFiles } from "./capture.ts";
import { describeTree } from "./describe.ts";
import { filesSourceSchema, type FilesSourceConfig } from "./config.ts";
import { filesSourceSize, provisionFilesScratch } from "./drill.ts";
import { removeTree, restoreFiles } from "./restore.ts";
import { dropPreservedPath, swapBackPath } from "../preserved-paths.ts";
import { fingerprintFilesTarget, inspectFilesTarget, overlapsSource } from "./target.ts";

export const filesEngine: Engine<FilesSourceConfig> = {
  name: "files",
  summary:
    "a directory tree: one deterministic tar stream, extracted beside the target and renamed into place",
  configSchema: filesSourceSchema,
  pathFields: ["path"],
  restoreFlags: [
    { name: "force", description: "replace a non-empty target directory", replacesTarget: true },
  ],
  capabilities: {
    atomicSwap: true,
    sqlChecks: false,
    contentHashes: false,
    pitr: false,
    partialRestore: ["paths"],
    scratch: ["directory"],
    preservesReplaced: true,
  },
  checkTarget: (target) => checkLocalPath(target, "files", "a directory path", "/var/restore/uploads"),
  capture: captureFiles,
  inspectTarget: (target) => inspectFilesTarget(target),
  restore: restoreFiles,
  swapBack: (target, copy, aside) => swapBackPath(target, copy, aside),
  dropPreserved: (target, copy) => dropPreservedPath(target, copy, [], removeTree),
  describeSnapshot: describeTree,
  fingerprint: (target, context) => fingerprintFilesTarget(target, context.log),
  identifyTarget: async (source, target) =>
    (await overlapsSource(source.path, target))
      ? { verdict: "same", reason: "the target is the source directory, inside it, or contains it" }
      : { verdict: "different", reason: "the target and the source directory do not overlap" },
  provisionScratch: (source, request) => provisionFilesScratch(source, request),
  // File contents dominate the tar stream (headers add 512 bytes a file).
  estimateCaptureBytes: (source) => filesSourceSize(source),
  // The fingerprint's `bytes` counts file contents per name, as filesSourceSize does.
  sourceGrowth: async (source, snapshot) => {
    const currentBytes = await filesSourceSize(source);
    const snapshotBytes = snapshot.fingerprint.counts.bytes ?? 0;
    if (currentBytes === undefined || snapshotBytes <= 0) return undefined;
    return { currentBytes, snapshotBytes, measure: "bytes of regular files" };
  },
};
