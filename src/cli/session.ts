// Everything a command needs before it can act: the config, the backend, the
// opened repository and an operation context. Commands receive a Session and
// stay plain functions.

import { hostname } from "node:os";
import { loadConfig, configPath } from "../config/load.ts";
import { readRepositoryPassword } from "../config/password.ts";
import type { Config, SourceConfig } from "../config/schema.ts";
import { engineFor } from "../engines/registry.ts";
import { LifeboatError } from "../errors.ts";
import type { OperationContext } from "../operations/context.ts";
import { openRepository } from "../repository/repository.ts";
import type { LockKind, Repository } from "../repository/types.ts";
import { createLogger, type Logger } from "../runtime/logger.ts";
import { processRunner } from "../runtime/process.ts";
import type { Backend } from "../storage/backend.ts";
import { openBackend } from "../storage/registry.ts";
import { RetryingBackend } from "../storage/retrying.ts";
import type { Output } from "./output.ts";
import { createProgress } from "./progress.ts";

export interface GlobalOptions {
  readonly config?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly verbose?: boolean;
  readonly progress?: boolean;
}

export interface CommandEnv {
  readonly options: GlobalOptions;
  readonly output: Output;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

export function createLog(options: GlobalOptions): Logger {
  return createLogger({ level: options.verbose ? "debug" : options.quiet || options.json ? "warn" : "info" });
}

export async function loadSessionConfig(env: CommandEnv): Promise<{ path: string; config: Config }> {
  return loadConfig(configPath(env.options.config));
}

/** Open the configured repository, run `body` under a lock of `kind`, always release and close. */
export async function withRepository<T>(
  env: CommandEnv,
  lock: { kind: LockKind; command: string } | null,
  body: (context: OperationContext, config: Config) => Promise<T>,
): Promise<T> {
  const { config } = await loadSessionConfig(env);
  const password = await readRepositoryPassword(config.repository);
  const backend = openStorage(config.repository.url);
  let repository: Repository;
  try {
    repository = await openRepository(backend, password);
  } catch (error) {
    await backend.close();
    throw error;
  }
  try {
    const held = lock ? await repository.lock(lock.kind, lock.command) : undefined;
    try {
      return await body(operationContext(env, repository), config);
    } finally {
      await held?.release();
    }
  } finally {
    await repository.close();
  }
}

/** The configured storage, with retries and backoff for transient failures (restic-style wrapper). */
export function openStorage(url: string): Backend {
  return new RetryingBackend(openBackend(url));
}

export function operationContext(env: CommandEnv, repository: Repository): OperationContext {
  return {
    repository,
    engineFor,
    runner: processRunner,
    log: env.log,
    now: () => new Date(),
    hostname: hostname(),
    progress: createProgress(env.options.progress !== false && !env.options.json && !env.options.quiet),
    signal: env.signal,
  };
}

/** The named sources, or all of them when none is named; an unknown name is an error listing the known ones. */
export function selectSources(config: Config, names: readonly string[]): [string, SourceConfig][] {
  const all = Object.entries(config.sources);
  if (names.length === 0) return all;
  return names.map((name) => {
    const source = config.sources[name];
    if (!source) {
      throw new LifeboatError("UNKNOWN_SOURCE", `no source named ${name}`, {
        details: { known: Object.keys(config.sources) },
        hint: `Known sources: ${Object.keys(config.sources).join(", ") || "(none declared)"}.`,
      });
    }
    return [name, source];
  });
}
