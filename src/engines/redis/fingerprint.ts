// The Redis fingerprint: per database, the keys alive at the snapshot's
// moment by type, how many of them have a time to live, and the entries of
// its streams; plus the number of function libraries. It is read from an RDB
// file (the captured one, a restored one, or one fetched from a server
// through the replication protocol), so both sides are counted by the same code.

import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { ErrorCode } from "../../errors.ts";
import type { Fingerprint } from "../../domain/fingerprint.ts";
import type { EngineContext } from "../engine.ts";
import type { RedisEndpoint } from "./connection.ts";
import { readRdbSummary, type RdbSummary } from "./rdb-reader.ts";
import { openRdbTransfer } from "./replication-stream.ts";

export function fingerprintOfSummary(summary: RdbSummary): Fingerprint {
  const counts: Record<string, number> = {};
  for (const [number, database] of Object.entries(summary.databases)) {
    const alive = Object.values(database.types).reduce((sum, n) => sum + n, 0);
    // A database whose keys have all expired is gone once a server loads the file.
    if (alive === 0) continue;
    counts[`keys:db${number}`] = alive;
    for (const [type, n] of Object.entries(database.types)) counts[`keys:db${number}:${type}`] = n;
    counts[`expires:db${number}`] = database.expires;
    if (database.streamEntries > 0) counts[`stream_entries:db${number}`] = database.streamEntries;
  }
  if (summary.functions > 0) counts.functions = summary.functions;
  return { counts, hashes: {} };
}

/** Copy a server's current snapshot into a private file in the temp dir. */
export async function fetchRdbFile(
  endpoint: RedisEndpoint,
  code: ErrorCode,
  syncDelay: "lower" | "wait",
  context: EngineContext,
): Promise<string> {
  const path = join(context.tempDir, `redis-${randomBytes(6).toString("hex")}.rdb`);
  try {
    const transfer = await openRdbTransfer(endpoint, {
      code,
      syncDelay,
      log: context.log,
      ...(context.signal ? { signal: context.signal } : {}),
    });
    await pipeline(transfer.stream, createWriteStream(path, { mode: 0o600 }));
    return path;
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
}

/** Fingerprint what a running server holds now. */
export async function fingerprintServer(
  endpoint: RedisEndpoint,
  code: ErrorCode,
  context: EngineContext,
): Promise<Fingerprint> {
  const path = await fetchRdbFile(endpoint, code, "lower", context);
  try {
    return fingerprintOfSummary(readRdbSummary(path));
  } finally {
    await rm(path, { force: true });
  }
}
