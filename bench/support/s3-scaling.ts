// How Lifeboat's cost grows with the repository rather than with the data:
// the requests of a backup that adds nothing at 10, 100 and 1,000 snapshots,
// and forget + prune of a 1,000-snapshot repository (`snapshots` over many
// snapshots is snapshot-listing.ts). Repositories are grown through
// the repository API (snapshot-factory.ts); what is measured runs as a user
// runs it: the CLI, in its own process. Where the CLI does not (yet) take a
// local cache, the same operation also runs in-process through the API with
// `cacheDir`, labelled as such.

import { mkdir, readdir, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { configPath, loadConfig } from "../../src/engines/config.ts";
import { engineFor } from "../../src/engines/registry.ts";
import { backupSource } from "../../src/operations/backup.ts";
import { noProgress } from "../../src/operations/context.ts";
import { openRepository } from "../../src/repository/repository.ts";
import { createLogger } from "../../src/runtime/logger.ts";
import { processRunner } from "../../src/runtime/process.ts";
import { openBackend } from "../../src/storage/registry.ts";
import { RetryingBackend } from "../../src/storage/retrying.ts";
import { S3Backend } from "../../src/storage/s3.ts";
import { s3Environment } from "../../test/support/s3-server.ts";
import { measure, type Measurement, type MeasureOptions } from "./measure.ts";
import {
  bucketBytes,
  s3RepositoryBlock,
  takeRequests,
  type CountedRequests,
  type S3Site,
} from "./s3-contenders.ts";
import { addSnapshots } from "./snapshot-factory.ts";

const password = "bench-only-password-not-a-secret";

export interface Counted {
  readonly seconds: number;
  readonly ok: boolean;
  readonly requests: CountedRequests;
  /** Snapshots in the repository when the run started. */
  readonly snapshotsBefore: number;
}

export interface NoopStep {
  readonly target: number;
  /** The first CLI backup after the repository grew: it may fetch what it has not seen. */
  readonly cliFirst: Counted;
  /** The next one: the steady state of a no-op backup. */
  readonly cli: Counted;
  readonly apiFirst: Counted;
  readonly api: Counted;
  readonly generateSeconds: number;
}

async function writeTinyTree(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < 3; i++) await writeFile(join(dir, `note-${i}.txt`), `unchanged note ${i}\n`.repeat(20));
}

const counted = (m: Measurement, requests: CountedRequests, snapshotsBefore: number): Counted => ({
  seconds: m.seconds,
  ok: m.ok,
  requests,
  snapshotsBefore,
});

/** A tiny `files` source on an s3:// repository through the proxy; its CLI and its in-process twin. */
async function tinyS3Repository(site: S3Site, workDir: string, name: string) {
  const bucket = await site.server.createBucket(name);
  const tree = join(workDir, `${name}-tree`);
  await writeTinyTree(tree);
  const config = join(workDir, `${name}.yaml`);
  await writeFile(
    config,
    s3RepositoryBlock(bucket, site.proxy.endpoint) + `sources:\n  tiny: { engine: files, path: "${tree}" }\n`,
  );
  const cliCache = join(workDir, `${name}-cli-cache`);
  const env = { LIFEBOAT_PASSWORD: password, LIFEBOAT_CACHE_DIR: cliCache, ...s3Environment };
  return { bucket, config, cliCache, apiCache: join(workDir, `${name}-api-cache`), env };
}

/** `lifeboat backup` as the CLI does it, in this process, with a local cache (what LIFEBOAT_CACHE_DIR is for). */
async function backupInProcess(configFile: string, cacheDir: string): Promise<boolean> {
  const { config } = await loadConfig(configPath(configFile));
  const { url, endpoint, region, path_style: pathStyle } = config.repository;
  const backend = new RetryingBackend(openBackend(url, { endpoint, region, pathStyle }));
  const repository = await openRepository(backend, password, { cacheDir });
  const lock = await repository.lock("shared", "backup");
  try {
    const context = {
      repository,
      engineFor,
      runner: processRunner,
      log: createLogger({ level: "warn" }),
      now: () => new Date(),
      hostname: hostname(),
      progress: noProgress,
    };
    await backupSource(context, "tiny", config.sources["tiny"]!);
    return true;
  } finally {
    await lock.release();
    await repository.close();
  }
}

export interface NoopResult {
  readonly steps: NoopStep[];
  /** Whether the CLI filled LIFEBOAT_CACHE_DIR (it honours the variable). */
  readonly cliCacheHonoured: boolean;
  readonly bucket: string;
  readonly config: string;
  readonly env: NodeJS.ProcessEnv;
}

export async function measureNoopBackups(
  site: S3Site,
  cli: string,
  steps: readonly number[],
  options: MeasureOptions,
  log: (message: string) => void,
): Promise<NoopResult> {
  const repo = await tinyS3Repository(site, options.workDir, "noop");
  const run = { ...options, env: repo.env };
  const lifeboat = (args: string) => `${process.execPath} ${cli} -c ${repo.config} --no-progress ${args}`;
  const init = await measure("noop init", lifeboat("init"), run);
  if (!init.ok) throw new Error(`lifeboat init on s3rver failed: ${init.stderrTail}`);
  // The factory writes straight to s3rver (growing the repository is not what is counted),
  // with the retries every Lifeboat command has: s3rver drops a reused idle socket now and then.
  const direct = new RetryingBackend(
    new S3Backend({
      endpoint: site.server.endpoint,
      region: "us-east-1",
      pathStyle: true,
      bucket: repo.bucket,
      root: "lifeboat/",
    }),
  );
  const factory = await openRepository(direct, password);
  let snapshots = 0;
  const results: NoopStep[] = [];
  try {
    for (const target of steps) {
      const add = Math.max(0, target - snapshots - 4); // four backups per step follow
      log(`no-op backups: growing the repository to ${snapshots + add} snapshots`);
      const generateSeconds = await addSnapshots(factory, {
        source: "tiny",
        count: add,
        distinct: true,
        firstAt: new Date(Date.UTC(2020, 0, 1) + snapshots * 1000),
      });
      snapshots += add;
      const cliBackup = async (label: string) => {
        site.proxy.reset();
        const m = await measure(label, lifeboat("backup tiny --json"), run);
        return counted(m, takeRequests(site.proxy, "lifeboat/"), snapshots++);
      };
      const apiBackup = async () => {
        site.proxy.reset();
        const started = performance.now();
        const ok = await backupInProcess(repo.config, repo.apiCache);
        const m = { seconds: (performance.now() - started) / 1000, ok } as Measurement;
        return counted(m, takeRequests(site.proxy, "lifeboat/"), snapshots++);
      };
      // Each client twice in a row: its second run finds nothing new but its own first snapshot.
      const cliFirst = await cliBackup(`no-op backup at ${target} (first)`);
      const cliSteady = await cliBackup(`no-op backup at ${target}`);
      const apiFirst = await apiBackup();
      const api = await apiBackup();
      results.push({ target, cliFirst, cli: cliSteady, apiFirst, api, generateSeconds });
      log(
        `no-op backup at ${cliSteady.snapshotsBefore} snapshots: CLI ${cliSteady.requests.counts.total} requests, in-process with cache ${api.requests.counts.total}`,
      );
    }
  } finally {
    await factory.close();
  }
  const cached = await readdir(repo.cliCache).catch(() => []);
  return { steps: results, cliCacheHonoured: cached.length > 0, ...repo };
}

export interface PruneResult {
  readonly snapshotsBefore: number;
  readonly snapshotsAfter?: number;
  readonly forget: Counted;
  readonly prune: Counted & { readonly json?: Record<string, unknown>; readonly error?: string };
  readonly check: { readonly ok: boolean; readonly seconds: number; readonly error?: string };
  readonly restore: { readonly ok: boolean; readonly seconds: number; readonly error?: string };
  readonly storedBefore: { objects: number; bytes: number };
  readonly storedAfter: { objects: number; bytes: number };
}

export function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** `forget --keep-last 10`, then `prune --grace 0s` (the packs are minutes old), then check and a restore. */
export async function measurePrune(
  site: S3Site,
  cli: string,
  noop: NoopResult,
  options: MeasureOptions,
): Promise<PruneResult> {
  const run = { ...options, env: noop.env };
  const lifeboat = (args: string) => `${process.execPath} ${cli} -c ${noop.config} --no-progress ${args}`;
  const count = async () => {
    const listing = await measure("snapshots", lifeboat("snapshots --json"), run);
    return (parseJson(listing.stdout)?.["snapshots"] as unknown[] | undefined)?.length;
  };
  const snapshotsBefore = (await count()) ?? NaN;
  const storedBefore = await bucketBytes(site.server, noop.bucket, "lifeboat/");
  site.proxy.reset();
  const forget = await measure("forget --keep-last 10", lifeboat("forget --keep-last 10 --json"), run);
  const forgetCounted = counted(forget, takeRequests(site.proxy, "lifeboat/"), snapshotsBefore);
  const snapshotsAfter = await count();
  site.proxy.reset();
  const prune = await measure("prune --grace 0s", lifeboat("prune --grace 0s --json"), run);
  const pruneCounted = counted(prune, takeRequests(site.proxy, "lifeboat/"), snapshotsAfter ?? NaN);
  const storedAfter = await bucketBytes(site.server, noop.bucket, "lifeboat/");
  const check = await measure("check after prune", lifeboat("check --json"), run);
  const restoreDir = join(options.workDir, "noop-restored");
  const restore = await measure("restore after prune", lifeboat(`restore tiny --to ${restoreDir}`), run);
  const why = (m: Measurement) => (m.ok ? undefined : m.stderrTail.trim().split("\n").slice(-3).join(" "));
  return {
    snapshotsBefore,
    snapshotsAfter,
    forget: forgetCounted,
    prune: { ...pruneCounted, json: parseJson(prune.stdout), error: why(prune) },
    check: { ok: check.ok, seconds: check.seconds, error: why(check) },
    restore: { ok: restore.ok, seconds: restore.seconds, error: why(restore) },
    storedBefore,
    storedAfter,
  };
}
