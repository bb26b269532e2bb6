// The files engine: a directory tree as one deterministic tar artifact,
// restored by extract-beside-then-rename. See capture.ts and restore.ts for
// what is kept and what a concurrent writer or a kill can do.

import type { FilesSourceConfig } from "../../config/schema.ts";
import type { Engine } from "../engine.ts";
import { captureFiles } from "./capture.ts";
import { filesSourceSize, provisionFilesScratch } from "./drill.ts";
import { restoreFiles } from "./restore.ts";
import { fingerprintFilesTarget, inspectFilesTarget, overlapsSource } from "./target.ts";

export const filesEngine: Engine<FilesSourceConfig> = {
  name: "files",
  capture: captureFiles,
  inspectTarget: (target) => inspectFilesTarget(target),
  restore: restoreFiles,
  fingerprint: (target, context) => fingerprintFilesTarget(target, context.log),
  isSameAsSource: (source, target) => overlapsSource(source.path, target),
  provisionScratch: (source, request) => provisionFilesScratch(source, request),
  sourceSize: (source) => filesSourceSize(source),
};
