// Capture a Redis server: its RDB snapshot through the replication protocol,
// streamed into the repository and, on the way, into a private spool file
// that is then walked for the fingerprint. Both therefore describe the one
// snapshot the primary forked, whatever writers do meanwhile.

import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { ArtifactSink, CaptureResult, EngineContext } from "../engine.ts";
import type { RedisSourceConfig } from "./config.ts";
import { command, parseRedisUrl, withRedis } from "./connection.ts";
import { fingerprintOfSummary } from "./fingerprint.ts";
import { readRdbSummary } from "./rdb-reader.ts";
import { openRdbTransfer } from "./replication-stream.ts";
import { serverFacts } from "./target.ts";
import { teeToFile } from "./tee-to-file.ts";

export const rdbArtifact = "dump.rdb";

export async function captureRedis(
  source: RedisSourceConfig,
  sink: ArtifactSink,
  context: EngineContext,
): Promise<CaptureResult> {
  const endpoint = parseRedisUrl(source.url, source.password_env);
  const { facts, consistentAt } = await withRedis(endpoint, "SOURCE_UNREACHABLE", async (client) => {
    const facts = await serverFacts(client);
    // The server's clock just before SYNC: the snapshot it forks is at least this fresh.
    const [seconds, micros] = (await command(client, ["TIME"])) as [string, string];
    const consistentAt = new Date(Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)).toISOString();
    return { facts, consistentAt };
  });
  const spool = join(context.tempDir, `redis-capture-${randomBytes(6).toString("hex")}.rdb`);
  try {
    const transfer = await openRdbTransfer(endpoint, {
      code: "SOURCE_UNREACHABLE",
      syncDelay: source.sync_delay ?? "lower",
      log: context.log,
      ...(context.signal ? { signal: context.signal } : {}),
    });
    const file = createWriteStream(spool, { mode: 0o600 });
    try {
      await sink.write(rdbArtifact, teeToFile(transfer.stream, file));
    } finally {
      file.destroy();
    }
    context.signal?.throwIfAborted();
    const summary = readRdbSummary(spool);
    const stored = Object.fromEntries(
      Object.entries(summary.databases).map(([number, database]) => [`db${number}`, database.stored]),
    );
    context.log.debug(`redis: captured ${endpoint.label} (RDB version ${summary.version})`);
    return {
      consistentAt,
      engineMeta: { ...facts, rdb_version: summary.version, stored_keys: stored },
      fingerprint: fingerprintOfSummary(summary),
    };
  } finally {
    await rm(spool, { force: true });
  }
}
