// lifeboat serve [--listen 127.0.0.1:9187]: the status as /metrics,
// /healthz/backup, /readyz and a dashboard, until SIGTERM. The repository is
// opened once (keys derived once); each reading lists it again, so the pages
// follow backups made by other hosts.

import { parseDuration } from "../../domain/duration.ts";
import { engineFor } from "../../engines/registry.ts";
import { isLifeboatError, LifeboatError } from "../../errors.ts";
import { readStatus, unreadableReading } from "../../operations/status.ts";
import { redact, registerSecret } from "../../runtime/redact.ts";
import { startServer, type StatusReading } from "../../server/serve.ts";
import { loadSessionConfig, withRepository, type CommandEnv } from "../session.ts";
import { readStatusOf } from "./status.ts";

export const DEFAULT_LISTEN = "127.0.0.1:9187";

export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || !(port >= 0 && port <= 65535)) {
    throw new LifeboatError("BAD_ARGUMENT", `--listen ${JSON.stringify(listen)}: expected HOST:PORT`, {
      hint: `For example ${DEFAULT_LISTEN}, or 0.0.0.0:9187 with --token-env.`,
    });
  }
  return { host: match[1] ?? match[2]!, port };
}

function tokenOf(variable: string | undefined): string | undefined {
  if (!variable) return undefined;
  const token = process.env[variable];
  if (!token || token.length < 16) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `--token-env ${variable}: the variable must hold a token of at least 16 characters`,
      {
        hint: `export ${variable}=$(openssl rand -hex 32)`,
      },
    );
  }
  registerSecret(token);
  return token;
}

function cacheMsOf(text: string | undefined): number {
  try {
    return parseDuration(text ?? "5s") * 1000;
  } catch (error) {
    throw new LifeboatError("BAD_ARGUMENT", `--cache ${JSON.stringify(text)}: ${(error as Error).message}`);
  }
}

export async function serveCommand(
  env: CommandEnv,
  flags: { listen?: string; tokenEnv?: string; cache?: string },
): Promise<void> {
  const { host, port } = parseListen(flags.listen ?? DEFAULT_LISTEN);
  const cacheMs = cacheMsOf(flags.cache);
  const token = tokenOf(flags.tokenEnv);
  const { config } = await loadSessionConfig(env);
  const url = redact(config.repository.url);
  const serveWith = async (read: () => Promise<StatusReading>) => {
    const server = await startServer({ host, port, token, read, cacheMs, log: (line) => env.log.warn(line) });
    env.log.info(
      `serving ${server.url}/ (metrics at /metrics, health at /healthz/backup); Ctrl-C or SIGTERM stops`,
    );
    await new Promise<void>((resolve) => {
      if (env.signal.aborted) resolve();
      env.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await server.close();
    return server.url;
  };
  let served: string;
  try {
    served = await withRepository(env, null, (context) =>
      serveWith(async () => {
        try {
          return await readStatus({ ...context, now: () => new Date() }, config.sources, url);
        } catch (error) {
          return unreadableReading({ engineFor }, config.sources, url, error, new Date());
        }
      }),
    );
  } catch (error) {
    if (isLifeboatError(error, "INTERRUPTED") || isLifeboatError(error, "BAD_ARGUMENT")) throw error;
    // The repository cannot be opened now: serve a failing status, and try again at every reading.
    env.log.warn(
      `the repository could not be opened (${isLifeboatError(error) ? error.code : "error"}); serving a failing status`,
    );
    served = await serveWith(() => readStatusOf({ ...env, recordedRuns: [] }, []));
  }
  env.output.result({ url: served, stopped: true }, () => `stopped serving ${served}`);
}
