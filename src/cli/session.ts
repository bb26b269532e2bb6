// Everything a command needs before it can act: the config, the backend, the
// opened repository and an operation context. Commands receive a Session and
// stay plain functions.

import { hostname } from "node:os";
import { loadConfig, configPath } from "../engines/config.ts";
import { defaultCacheDir } from "../runtime/spool-memo.ts";
import { readRepositoryPassword } from "../config/password.ts";
import type { Config, SourceConfig } from "../engines/config.ts";
import { engineFor } from "../engines/registry.ts";
import { groupOf, type Group } from "../config/group-schema.ts";
import { LifeboatError } from "../errors.ts";
import type { OperationContext } from "../operations/context.ts";
import { isLifeboatError } from "../errors.ts";
import { sweepSpools, type SpoolSweep } from "../operations/temp-dir.ts";
import { openRepository } from "../repository/repository.ts";
import type {
  DamagedObject,
  Lock,
  LockKind,
  LockRequestOptions,
  OpenOptions,
  Repository,
} from "../repository/types.ts";
import { createLogger, type Logger } from "../runtime/logger.ts";
import { processRunner } from "../runtime/process.ts";
import { isReadOnlyStorageError, type Backend } from "../storage/backend.ts";
import { openBackend } from "../storage/registry.ts";
import { RetryingBackend } from "../storage/retrying.ts";
import type { Output } from "./output.ts";
import { createProgress } from "./progress.ts";
import type { RunRecord } from "../domain/run-record.ts";

export interface GlobalOptions {
  readonly config?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly verbose?: boolean;
  readonly progress?: boolean;
  /** false with --no-lock: commands that only read skip the repository lock deliberately. */
  readonly lock?: boolean;
  /** --retry-lock, in milliseconds: how long a refused lock is retried before LOCKED. */
  readonly retryLock?: number;
  /** false with --no-cache: read index and manifests from storage only, keep no local copies. */
  readonly cache?: boolean;
  /** --metrics-textfile: backup, drill, check, prune and forget write the status metrics there (node_exporter). */
  readonly metricsTextfile?: string;
}

export interface CommandEnv {
  readonly options: GlobalOptions;
  readonly output: Output;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** The run records this command kept (operations/run-record.ts), for heartbeats, notifications and metrics. */
  readonly recordedRuns?: RunRecord[];
}

export function createLog(options: GlobalOptions): Logger {
  return createLogger({ level: options.verbose ? "debug" : options.quiet || options.json ? "warn" : "info" });
}

export async function loadSessionConfig(env: CommandEnv): Promise<{ path: string; config: Config }> {
  return loadConfig(configPath(env.options.config));
}

/**
 * Commands that never write to the repository. They work on a read-only
 * repository (a read-only mount, a copy without write permission) without a
 * lock, and only they accept --no-lock. `drill` is not one: it stores its report.
 */
const READ_ONLY_COMMANDS: ReadonlySet<string> = new Set([
  "restore",
  "check",
  "snapshots",
  "drills",
  "key list",
  "forget --dry-run",
  "tag --dry-run",
  "stats",
  "copy", // reads the repository it copies from; the destination is locked and written separately
]);

/** How the repository is being used, for commands that report it (check, snapshots). */
export interface RepositoryAccess {
  /** Whether this command holds a repository lock. */
  readonly locked: boolean;
  /** The storage refused the lock write: nothing may be written (check only counts leftovers). */
  readonly readOnly: boolean;
  /** Leftover spools of killed runs removed before the command started. */
  readonly spools: SpoolSweep;
}

export interface WithRepositoryOptions {
  /** Lease timing of the lock; tests shorten it. */
  readonly lockTiming?: LockRequestOptions;
  /**
   * PostgreSQL's archive and restore commands (wal-push, wal-fetch): run
   * once per WAL file as the server's user, so they keep no local cache and
   * leave other runs' spools alone.
   */
  readonly archiveCommand?: boolean;
}

/**
 * How the CLI opens repositories: damage warned about, and the local cache
 * in $LIFEBOAT_CACHE_DIR, else $XDG_CACHE_HOME/lifeboat, else
 * ~/.cache/lifeboat (restic's and the XDG convention), unless --no-cache.
 */
export function openOptions(env: CommandEnv): OpenOptions {
  const onWarning = warnDamage(env);
  if (env.options.cache === false) return { onWarning };
  return { onWarning, cacheDir: defaultCacheDir(), onCacheProblem: (message) => env.log.warn(message) };
}

/** Print what the repository reported as damaged but did not fail on, naming the object and what to run. */
export function warnDamage(env: CommandEnv): (warning: DamagedObject) => void {
  return (warning) => env.log.warn(`${warning.message} [${warning.code}; run \`lifeboat check\`]`);
}

/** Remove leftover spools of killed Lifeboat runs on this host; never fails the command. */
export async function sweepLeftoverSpools(env: CommandEnv): Promise<SpoolSweep> {
  const sweep = await sweepSpools();
  if (sweep.removed > 0) {
    env.log.info(
      `removed ${sweep.removed} leftover temporary folder(s) (${sweep.bytesRemoved} bytes) of killed Lifeboat runs`,
    );
  }
  return sweep;
}

/**
 * Open the configured repository, run `body` under a lock of `kind`, always
 * release and close. The lock's loss aborts the signal `body` gets and fails
 * the command with LOCK_LOST. A read-only repository runs commands that only
 * read without a lock (with a warning saying what that risks) and refuses
 * the others with REPOSITORY_READ_ONLY.
 */
export async function withRepository<T>(
  env: CommandEnv,
  lock: { kind: LockKind; command: string } | null,
  body: (context: OperationContext, config: Config, access: RepositoryAccess) => Promise<T>,
  options: WithRepositoryOptions = {},
): Promise<T> {
  const { config } = await loadSessionConfig(env);
  const password = await readRepositoryPassword(config.repository);
  const spools = options.archiveCommand
    ? { removed: 0, bytesRemoved: 0, unprovable: [] }
    : await sweepLeftoverSpools(env);
  const backend = openStorage(config.repository);
  let repository: Repository;
  try {
    const opening = options.archiveCommand ? { onWarning: warnDamage(env) } : openOptions(env);
    repository = await openRepository(backend, password, opening);
  } catch (error) {
    await backend.close();
    throw error;
  }
  try {
    const { held, readOnly } = lock
      ? await takeLock(env, repository, lock, options)
      : { held: undefined, readOnly: false };
    const signal = held ? AbortSignal.any([env.signal, held.signal]) : env.signal;
    const access = { locked: held !== undefined, readOnly, spools };
    try {
      const result = await body({ ...operationContext(env, repository), signal }, config, access);
      held?.signal.throwIfAborted();
      return result;
    } catch (error) {
      // Whatever the body made of the abort, the cause is the lost lock.
      held?.signal.throwIfAborted();
      throw error;
    } finally {
      await held?.release().catch((error: unknown) => {
        if (!isReadOnlyStorageError(error) && !held.signal.aborted) throw error;
        env.log.warn(
          `could not remove lock ${held.info.id} (${error instanceof Error ? error.message : String(error)}); it goes stale by itself`,
        );
      });
    }
  } finally {
    await repository.close();
  }
}

async function takeLock(
  env: CommandEnv,
  repository: Repository,
  lock: { kind: LockKind; command: string },
  options: WithRepositoryOptions,
): Promise<{ held: Lock | undefined; readOnly: boolean }> {
  const readsOnly = READ_ONLY_COMMANDS.has(lock.command);
  const unprotected = `nothing stops a concurrent prune or \`unlock --remove-all\` from deleting data this ${lock.command} reads`;
  if (env.options.lock === false) {
    if (!readsOnly) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `--no-lock is only for commands that do not write; ${lock.command} writes`,
        {
          hint: "Run it without --no-lock.",
        },
      );
    }
    env.log.info(`running without a repository lock (--no-lock): ${unprotected}`);
    return { held: undefined, readOnly: false };
  }
  try {
    const request = { ...options.lockTiming, ...lockRequest(env) };
    return { held: await repository.lock(lock.kind, lock.command, request), readOnly: false };
  } catch (error) {
    if (!isReadOnlyStorageError(error)) throw error;
    const why = isLifeboatError(error) ? String(error.details["errno"] ?? error.message) : String(error);
    if (!readsOnly) {
      throw new LifeboatError(
        "REPOSITORY_READ_ONLY",
        `the repository at ${repository.location} refuses writes (${why}); ${lock.command} needs to write`,
        { details: { location: repository.location, command: lock.command }, cause: error },
      );
    }
    env.log.warn(
      `the repository at ${repository.location} is read-only (${why}): ${lock.command} runs without a lock; ${unprotected}`,
    );
    return { held: undefined, readOnly: true };
  }
}

/** How a command asks for a lock: --retry-lock, its abort signal, and where waiting is reported. */
export function lockRequest(env: CommandEnv): LockRequestOptions {
  return {
    retryForMs: env.options.retryLock,
    signal: env.signal,
    onWait: (message: string) => env.log.warn(message),
  };
}

/** The configured storage, with retries and backoff for transient failures (restic-style wrapper). */
export function openStorage(
  repository: Pick<Config["repository"], "url" | "endpoint" | "region" | "path_style">,
): Backend {
  const { url, endpoint, region, path_style: pathStyle } = repository;
  return new RetryingBackend(openBackend(url, { endpoint, region, pathStyle }));
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
    ...(env.recordedRuns ? { recordedRuns: env.recordedRuns } : {}),
  };
}

/** The named sources, or all of them when none is named; an unknown name is an error listing the known ones. */
/** A group of lifeboat.yaml (`groups:`) with its member sources; BAD_ARGUMENT naming the known ones otherwise. */
export function selectGroup(
  config: Config,
  name: string,
): { readonly group: Group; readonly members: [string, SourceConfig][] } {
  const declared = config.groups[name];
  if (!declared) {
    const known = Object.keys(config.groups);
    throw new LifeboatError("BAD_ARGUMENT", `no group named ${name} in lifeboat.yaml`, {
      details: { known },
      hint:
        known.length > 0
          ? `Known groups: ${known.join(", ")}.`
          : "Declare one under groups: in lifeboat.yaml.",
    });
  }
  const group = groupOf(declared);
  return { group, members: selectSources(config, group.sources) };
}

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
