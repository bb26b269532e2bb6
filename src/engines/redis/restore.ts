// Restore a Redis snapshot. The RDB is first saved to a private partial file
// (every chunk authenticated and re-hashed) and verified against the
// snapshot's fingerprint; only then does anything change at the target:
// - a server target gets it through replication (primary-feed.ts), after
//   the guards: reachable, a primary, empty unless --clean, new enough to
//   read the RDB version;
// - a directory target gets dump.rdb renamed into place (fsynced), for the
//   operator's own server to load at start.
// A kill leaves a partial file named *.lifeboat-partial-*, never dump.rdb.

import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { LifeboatError } from "../../errors.ts";
import { fsyncPath, leftoverName } from "../../runtime/paths.ts";
import type { EngineContext, RestoreInput, RestoreOptions } from "../engine.ts";
import { rdbArtifact } from "./capture.ts";
import { info, parseRedisUrl, withRedis, type RedisEndpoint } from "./connection.ts";
import { feedRdbToServer } from "./primary-feed.ts";
import { isServerTarget, keyspace, rdbFileName } from "./target.ts";
import { teeToFile } from "./tee-to-file.ts";

/** The oldest Redis that loads each RDB version (rdb.h history). */
const firstRedisFor: Record<number, string> = { 9: "5.0", 10: "7.0", 11: "7.2", 12: "7.4" };

function versionAtLeast(actual: string, wanted: string): boolean {
  const [a = 0, b = 0] = actual.split(".").map(Number);
  const [c = 0, d = 0] = wanted.split(".").map(Number);
  return a > c || (a === c && b >= d);
}

async function guardServer(endpoint: RedisEndpoint, rdbVersion: unknown, options: RestoreOptions) {
  await withRedis(endpoint, "TARGET_UNREACHABLE", async (client) => {
    const replication = await info(client, "replication");
    if (replication.role !== "master") {
      throw new LifeboatError(
        "TARGET_NOT_EMPTY",
        `Redis server ${endpoint.label} is a replica of ${replication.master_host}:${replication.master_port}`,
        {
          hint: "Restore into a primary: run REPLICAOF NO ONE on it first, or pick another server.",
        },
      );
    }
    const wanted = typeof rdbVersion === "number" ? firstRedisFor[rdbVersion] : undefined;
    const version = (await info(client, "server")).redis_version ?? "0";
    if (wanted && !versionAtLeast(version, wanted)) {
      throw new LifeboatError(
        "TARGET_UNREACHABLE",
        `Redis server ${endpoint.label} runs ${version}, which cannot load RDB version ${String(rdbVersion)} (needs ${wanted} or newer)`,
      );
    }
    const keys = await keyspace(client);
    const total = Object.values(keys).reduce((sum, n) => sum + n, 0);
    if (total > 0 && !options.clean) {
      throw new LifeboatError("TARGET_NOT_EMPTY", `Redis server ${endpoint.label} holds ${total} keys`, {
        details: { keys },
        hint: "Restore into an empty server, or pass --clean to replace its whole dataset.",
      });
    }
  });
}

async function guardDirectory(directory: string, options: RestoreOptions): Promise<void> {
  await mkdir(directory, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    throw new LifeboatError(
      "TARGET_UNREACHABLE",
      `cannot make the target directory ${directory}: ${error.message}`,
    );
  });
  const existing = await stat(join(directory, rdbFileName)).catch(() => undefined);
  if (existing && !options.force && !options.clean) {
    throw new LifeboatError(
      "TARGET_NOT_EMPTY",
      `${directory} already holds ${rdbFileName} (${existing.size} bytes)`,
      {
        hint: "Pick an empty directory, or pass --force to replace the file.",
      },
    );
  }
}

export async function restoreRedis(
  input: RestoreInput,
  target: string,
  options: RestoreOptions,
  context: EngineContext,
): Promise<void> {
  const server = isServerTarget(target) ? parseRedisUrl(target) : undefined;
  if (server) await guardServer(server, input.engineMeta.rdb_version, options);
  else await guardDirectory(target, options);
  const partial = server
    ? join(context.tempDir, leftoverName(rdbFileName, "partial"))
    : join(target, `.${leftoverName(rdbFileName, "partial")}`);
  try {
    if (server) {
      // Streamed from the repository to the target and, beside it, to the partial file that is
      // verified before the transfer's last bytes go out (primary-feed.ts).
      const size = input.artifacts.artifacts.find((artifact) => artifact.name === rdbArtifact)?.size;
      if (size === undefined)
        throw new LifeboatError("OBJECT_MISSING", `the snapshot has no ${rdbArtifact} artifact`);
      const spool = createWriteStream(partial, { mode: 0o600 });
      try {
        await feedRdbToServer(
          {
            size,
            chunks: teeToFile(input.artifacts.open(rdbArtifact), spool),
            beforeLastBytes: async () => {
              await input.verify?.(partial);
            },
          },
          server,
          input.engineMeta.stored_keys as Record<string, number> | undefined,
          context,
        );
      } finally {
        spool.destroy();
      }
      return;
    }
    await input.artifacts.saveTo(rdbArtifact, partial);
    await input.verify?.(partial);
    await fsyncPath(partial);
    await rename(partial, join(target, rdbFileName));
    await fsyncPath(target);
    context.log.info(
      `wrote ${join(target, rdbFileName)}: a server started with dir ${target} loads it (with appendonly no; a server with appendonly yes ignores dump.rdb)`,
    );
  } finally {
    await rm(partial, { force: true });
  }
}
