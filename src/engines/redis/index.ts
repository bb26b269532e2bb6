// The redis engine: the RDB snapshot through the replication protocol,
// fingerprinted from the RDB itself, restored into a running server (Lifeboat
// plays its primary) or a directory. See README.md beside this file.

import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { Engine } from "../engine.ts";
import { captureRedis } from "./capture.ts";
import { redisSourceSchema, type RedisSourceConfig } from "./config.ts";
import { command, parseRedisUrl, withRedis } from "./connection.ts";
import { fingerprintOfSummary, fingerprintServer } from "./fingerprint.ts";
import { readRdbSummary } from "./rdb-reader.ts";
import { restoreRedis } from "./restore.ts";
import { provisionRedisScratch } from "./scratch.ts";
import {
  checkRedisTarget,
  identifyRedisTarget,
  inspectRedisTarget,
  isServerTarget,
  rdbFileName,
} from "./target.ts";

export const redisEngine: Engine<RedisSourceConfig> = {
  name: "redis",
  summary:
    "a Redis server: its RDB through the replication protocol, restored into an empty server or a directory",
  configSchema: redisSourceSchema,
  pathFields: [],
  restoreFlags: [
    {
      name: "clean",
      description: "replace the whole dataset of a Redis server that holds keys",
      replacesTarget: true,
    },
    { name: "force", description: "replace dump.rdb in a target directory", replacesTarget: true },
  ],
  capabilities: {
    atomicSwap: true,
    sqlChecks: false,
    commandChecks: true,
    contentHashes: false,
    pitr: false,
    partialRestore: [],
    scratch: ["throwaway-cluster"],
  },
  checkTarget: checkRedisTarget,
  capture: captureRedis,
  inspectTarget: (target) => inspectRedisTarget(target),
  restore: restoreRedis,
  // A server cannot be renamed aside: a restore with --clean keeps it as a snapshot taken first.
  sourceForTarget: (source, target) => (isServerTarget(target) ? { ...source, url: target } : undefined),
  fingerprint: async (target, context) => {
    if (isServerTarget(target))
      return fingerprintServer(parseRedisUrl(target), "TARGET_UNREACHABLE", context);
    const info = await stat(target).catch(() => undefined);
    const file = info?.isDirectory() ? join(target, rdbFileName) : target;
    return fingerprintOfSummary(readRdbSummary(file));
  },
  identifyTarget: identifyRedisTarget,
  provisionScratch: provisionRedisScratch,
  runCheckCommand: (target, words) =>
    withRedis(parseRedisUrl(target), "TARGET_UNREACHABLE", (client) => command(client, words)),
};
