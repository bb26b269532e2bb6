// The `nats` engine: NATS JetStream streams and their durable consumers,
// captured with the server's own stream snapshots and restored with its
// stream restore. See README.md in this folder for what is guaranteed.

import type { Engine } from "../engine.ts";
import { captureNats } from "./capture.ts";
import { natsSourceSchema, type NatsSourceConfig } from "./config.ts";
import { restoreNats } from "./restore.ts";
import { provisionNatsScratch } from "./scratch.ts";
import { checkNatsTarget, fingerprintNatsTarget, identifyNatsTarget, inspectNatsTarget } from "./target.ts";

export const natsEngine: Engine<NatsSourceConfig> = {
  name: "nats",
  summary:
    "NATS JetStream streams and durable consumers: the server's stream snapshots, restored stream by stream",
  configSchema: natsSourceSchema,
  pathFields: [],
  restoreFlags: [
    {
      name: "clean",
      description: "delete streams on the target that have the names of the snapshot's streams first",
      replacesTarget: true,
    },
  ],
  capabilities: {
    atomicSwap: false,
    sqlChecks: false,
    contentHashes: false,
    pitr: false,
    partialRestore: [],
    scratch: ["throwaway-cluster"],
  },
  restoreGuarantee:
    "streams are restored under their own names, each appearing only once complete; a stream the target already has is refused, or deleted first with --clean; a restore that fails deletes the streams it created (a killed one leaves the complete streams restored so far)",
  checkTarget: checkNatsTarget,
  capture: captureNats,
  inspectTarget: (target, context) => inspectNatsTarget(target, context),
  restore: restoreNats,
  // Streams cannot be renamed: a restore with --clean keeps the target's as a snapshot taken first.
  sourceForTarget: (source, target) => ({ ...source, url: target }),
  fingerprint: (target, context) => fingerprintNatsTarget(target, context),
  identifyTarget: (source, target, _context, recorded) => identifyNatsTarget(source, target, recorded),
  provisionScratch: provisionNatsScratch,
};
