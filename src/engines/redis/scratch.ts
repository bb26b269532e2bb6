// Scratch targets for Redis drills: by default a throwaway redis-server that
// Lifeboat starts on a free loopback port with nothing persisted (no RDB
// saves, no AOF) in a fresh directory; or an empty server named by
// drill.target.url, flushed after the drill. The source's own server is
// never a scratch target.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LifeboatError } from "../../errors.ts";
import { findExecutable } from "../../runtime/executables.ts";
import { freePort } from "../../runtime/free-port.ts";
import type { EngineContext, ScratchRequest, ScratchTarget } from "../engine.ts";
import type { RedisSourceConfig } from "./config.ts";
import { command, parseRedisUrl, withRedis, type RedisEndpoint } from "./connection.ts";
import { keyspace, serverFacts } from "./target.ts";

const running = new Set<number>();
let exitHook = false;

function scratchEnv(endpoint: RedisEndpoint, url: string): Record<string, string> {
  return {
    LIFEBOAT_TARGET: url,
    REDIS_URL: url,
    REDIS_HOST: endpoint.host,
    REDIS_PORT: String(endpoint.port),
  };
}

async function waitForPing(endpoint: RedisEndpoint, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const why = exited();
    if (why) throw new LifeboatError("TARGET_UNREACHABLE", `the throwaway redis-server exited: ${why}`);
    try {
      await withRedis(endpoint, "TARGET_UNREACHABLE", (client) => command(client, ["PING"]));
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function throwawayServer(request: ScratchRequest, context: EngineContext): Promise<ScratchTarget> {
  const binary = await findExecutable("redis-server", ["/usr/bin", "/usr/local/bin", "/usr/sbin"]);
  if (!binary) {
    throw new LifeboatError(
      "TOOL_NOT_FOUND",
      "redis-server is not installed, so a drill cannot start a throwaway Redis",
      {
        hint: "Install redis-server (Debian: apt-get install redis-server), or set drill.target.url to an empty Redis server.",
      },
    );
  }
  const dir = await mkdtemp(
    join(tmpdir(), `lifeboat-drill-${request.label.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 60)}-`),
  );
  const port = await freePort();
  const started = context.runner.start(binary, [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--protected-mode",
    "yes",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "no",
    "--daemonize",
    "no",
    "--logfile",
    join(dir, "redis.log"),
    "--repl-diskless-sync-delay",
    "0",
  ]);
  const pid = started.child.pid;
  let exitedWith: string | undefined;
  void started.done.then((result) => (exitedWith = result.stderr.trim() || `exit code ${result.exitCode}`));
  if (pid !== undefined) running.add(pid);
  if (!exitHook) {
    exitHook = true;
    process.once("exit", () => {
      for (const each of running) {
        try {
          process.kill(each, "SIGKILL");
        } catch {
          // already gone
        }
      }
    });
  }
  const url = `redis://127.0.0.1:${port}`;
  const endpoint = parseRedisUrl(url, "LIFEBOAT_NO_PASSWORD_FOR_SCRATCH");
  const destroy = async () => {
    if (pid !== undefined && running.delete(pid)) {
      started.child.kill("SIGKILL");
      await started.done.catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPing(endpoint, () => exitedWith);
  } catch (error) {
    await destroy();
    throw error;
  }
  context.log.debug(`started a throwaway redis-server on 127.0.0.1:${port} in ${dir}`);
  return {
    target: url,
    description: `throwaway redis-server on 127.0.0.1:${port}`,
    env: scratchEnv(endpoint, url),
    destroy,
    keep: async () => {
      if (pid !== undefined) running.delete(pid); // the exit hook leaves it running
      return `throwaway redis-server on ${url} (pid ${pid}); remove it with: kill ${pid} && rm -rf ${dir}`;
    },
  };
}

async function configuredServer(source: RedisSourceConfig, url: string): Promise<ScratchTarget> {
  const endpoint = parseRedisUrl(url);
  const sourceFacts = await withRedis(
    parseRedisUrl(source.url, source.password_env),
    "SOURCE_UNREACHABLE",
    serverFacts,
  ).catch(() => undefined);
  const facts: Record<string, unknown> & { keys: number } = await withRedis(
    endpoint,
    "TARGET_UNREACHABLE",
    async (client) => ({
      ...(await serverFacts(client)),
      keys: Object.values(await keyspace(client)).reduce((sum, n) => sum + n, 0),
    }),
  );
  if (!sourceFacts || sourceFacts.run_id === facts.run_id) {
    throw new LifeboatError(
      sourceFacts ? "SCRATCH_ON_SOURCE" : "TARGET_IDENTITY_UNKNOWN",
      sourceFacts
        ? `drill.target.url ${endpoint.label} is the source's own Redis server`
        : `the Redis source cannot be asked for its run_id, so ${endpoint.label} cannot be proved another server`,
    );
  }
  if (facts.keys > 0) {
    throw new LifeboatError(
      "TARGET_NOT_EMPTY",
      `the drill's scratch server ${endpoint.label} holds ${facts.keys} keys`,
      {
        hint: "A Redis scratch server must be empty: the drill replaces and then flushes its whole dataset.",
      },
    );
  }
  return {
    target: url,
    description: `Redis scratch server ${endpoint.label}`,
    env: scratchEnv(endpoint, url),
    destroy: () =>
      withRedis(endpoint, "TARGET_UNREACHABLE", async (client) => {
        await command(client, ["FLUSHALL"]);
      }),
  };
}

export function provisionRedisScratch(
  source: RedisSourceConfig,
  request: ScratchRequest,
  context: EngineContext,
): Promise<ScratchTarget> {
  const url = request.target?.url;
  return url ? configuredServer(source, url) : throwawayServer(request, context);
}
