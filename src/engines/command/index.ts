// The command engine: services without a dedicated engine, backed up by the
// user's own capture / restore / fingerprint commands (Velero backup hooks and
// Kanister blueprints are the models). Lifeboat adds the repository, the
// environment allow-list, the guards, verification before the restore command
// sees a byte, and the comparison of facts. See README.md beside this file.

import type { Engine } from "../engine.ts";
import { captureCommand } from "./capture.ts";
import { commandSourceSchema, type CommandSourceConfig } from "./config.ts";
import { restoreCommand } from "./restore.ts";
import { provisionCommandScratch } from "./scratch.ts";
import {
  checkCommandTarget,
  fingerprintCommandTarget,
  identifyCommandTarget,
  inspectCommandTarget,
} from "./target.ts";

export const commandEngine: Engine<CommandSourceConfig> = {
  name: "command",
  summary:
    "any service, through your own capture, restore and fingerprint shell commands (stdout or a folder as the artifact)",
  configSchema: commandSourceSchema,
  pathFields: [],
  restoreFlags: [
    {
      name: "force",
      description: "let the restore command replace what is at the target",
      replacesTarget: true,
    },
  ],
  capabilities: {
    atomicSwap: false,
    sqlChecks: false,
    contentHashes: false,
    pitr: false,
    partialRestore: [],
    // The closest kind: scratch.create makes a throwaway instance (or namespace) of the service.
    scratch: ["throwaway-cluster"],
  },
  restoreGuarantee:
    "the whole artifact is fetched and verified before the restore command starts, so a damaged artifact never reaches the service; the command then writes into the target in place, so a failed or interrupted restore can leave it partly written; it is verified afterwards with the fingerprint command, and a snapshot taken without one cannot be verified",
  checkTarget: checkCommandTarget,
  capture: captureCommand,
  inspectTarget: inspectCommandTarget,
  restore: restoreCommand,
  fingerprint: (target, context) => fingerprintCommandTarget(target, context),
  identifyTarget: identifyCommandTarget,
  provisionScratch: provisionCommandScratch,
};
