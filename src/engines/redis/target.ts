// Redis restore targets: a running server (redis://host:port, empty unless
// --clean) or a directory that receives dump.rdb for the operator's own
// server. Identity is proved with the server's run_id (one per running
// process) or, for directories, with the source's `dir` setting.

import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { LifeboatError } from "../../errors.ts";
import { canonicalPath } from "../../runtime/paths.ts";
import type { EngineContext, TargetIdentity, TargetState } from "../engine.ts";
import type { RedisSourceConfig } from "./config.ts";
import { command, info, parseRedisUrl, withRedis, type RedisClient } from "./connection.ts";

export const rdbFileName = "dump.rdb";

export function isServerTarget(target: string): boolean {
  return /^rediss?:\/\//i.test(target);
}

export function checkRedisTarget(target: string): string {
  if (isServerTarget(target)) {
    parseRedisUrl(target); // refuses a password or a database in the URL
    return target;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target) || target.trim() === "") {
    throw new LifeboatError("BAD_ARGUMENT", `${target} is not a Redis target`, {
      hint: "Pass --to redis://host:port (an empty running server) or --to DIR (a directory that receives dump.rdb).",
    });
  }
  return resolve(target);
}

/** Facts that identify a server and describe it, recorded in the snapshot; never a secret. */
export async function serverFacts(client: RedisClient): Promise<Record<string, unknown>> {
  const server = await info(client, "server");
  const replication = await info(client, "replication");
  let dir: string | undefined;
  try {
    const reply = (await command(client, ["CONFIG", "GET", "dir"])) as unknown;
    dir = Array.isArray(reply) ? String(reply[1]) : String((reply as Record<string, unknown>).dir);
  } catch {
    dir = undefined; // CONFIG not permitted: directory targets then cannot be proved different
  }
  return {
    redis_version: server.redis_version,
    run_id: server.run_id,
    port: Number(server.tcp_port),
    role: replication.role,
    ...(dir ? { dir } : {}),
  };
}

/** Keys per database from INFO keyspace: db0 → 12. */
export async function keyspace(client: RedisClient): Promise<Record<string, number>> {
  const fields = await info(client, "keyspace");
  const keys: Record<string, number> = {};
  for (const [name, value] of Object.entries(fields)) {
    const match = /keys=(\d+)/.exec(value);
    if (/^db\d+$/.test(name) && match) keys[name] = Number(match[1]);
  }
  return keys;
}

export async function inspectRedisTarget(target: string): Promise<TargetState> {
  if (isServerTarget(target)) {
    const endpoint = parseRedisUrl(target);
    return withRedis(endpoint, "TARGET_UNREACHABLE", async (client) => {
      const keys = await keyspace(client);
      const total = Object.values(keys).reduce((sum, n) => sum + n, 0);
      return {
        exists: true,
        empty: total === 0,
        description: `Redis server ${endpoint.label} (${total} keys in ${Object.keys(keys).length} databases)`,
      };
    });
  }
  const file = join(target, rdbFileName);
  const entries = await readdir(target).catch(() => undefined);
  const present = await stat(file).then(
    () => true,
    () => false,
  );
  return {
    exists: entries !== undefined,
    empty: !present,
    description: present
      ? `directory ${target} (holds ${rdbFileName})`
      : entries
        ? `directory ${target} (no ${rdbFileName})`
        : `directory ${target} (does not exist)`,
  };
}

export async function identifyRedisTarget(
  source: RedisSourceConfig,
  target: string,
  _context: EngineContext,
  recorded?: Readonly<Record<string, unknown>>,
): Promise<TargetIdentity> {
  const sourceFacts = await withRedis(
    parseRedisUrl(source.url, source.password_env),
    "SOURCE_UNREACHABLE",
    serverFacts,
  ).catch(() => undefined);
  if (isServerTarget(target)) {
    const targetFacts = await withRedis(parseRedisUrl(target), "TARGET_UNREACHABLE", serverFacts).catch(
      () => undefined,
    );
    if (!targetFacts)
      return { verdict: "unknown", reason: "the target server cannot be asked for its run_id" };
    if (sourceFacts)
      return sourceFacts.run_id === targetFacts.run_id
        ? {
            verdict: "same",
            reason: `the same server process (run_id ${String(targetFacts.run_id).slice(0, 12)})`,
          }
        : { verdict: "different", reason: "another server process (different run_id)" };
    if (recorded?.run_id === targetFacts.run_id)
      return { verdict: "same", reason: "the run_id recorded at backup" };
    return {
      verdict: "unknown",
      reason: "the source is unreachable, so the target cannot be proved another server",
    };
  }
  const sourceDir = (sourceFacts?.dir ?? recorded?.dir) as string | undefined;
  if (!sourceDir)
    return { verdict: "unknown", reason: "the source's data directory (CONFIG GET dir) is not known" };
  const [left, right] = await Promise.all([canonicalPath(sourceDir), canonicalPath(target)]);
  return left === right
    ? { verdict: "same", reason: `the source server's own data directory ${sourceDir}` }
    : { verdict: "different", reason: `not the source's data directory ${sourceDir}` };
}
