// The S3 benchmark's contenders on the bench database: `lifeboat backup` /
// `lifeboat restore` with the repository on s3rver, and restic 0.14 backing
// up the same kind of dump (`pg_dump -Fd -j2 -Z0`, what Lifeboat's postgres
// engine spools) into the same s3rver and restoring it with `pg_restore -j2`.
// Both reach s3rver through the counting proxy, so their wall times pay the
// same proxy hop and their requests are counted the same way. (Lifeboat on
// the filesystem is contenders.ts's runLifeboatRound, unchanged.)

import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { RetryingBackend } from "../../src/storage/retrying.ts";
import { S3Backend } from "../../src/storage/s3.ts";
import type { S3TestServer } from "../../test/support/s3-server.ts";
import { s3Environment } from "../../test/support/s3-server.ts";
import { lifeboatBackup, lifeboatRestore, type LifeboatBackup, type LifeboatSetup } from "./contenders.ts";
import { countRequests, requestsByFolder, type CountingProxy, type RequestCounts } from "./counting-proxy.ts";
import { benchDatabase, contentSummary } from "./dataset.ts";
import { measure, type Measurement, type MeasureOptions } from "./measure.ts";
import { connectionArgs, pgBin, type BenchCluster } from "./pg-cluster.ts";

export interface S3Site {
  readonly server: S3TestServer;
  readonly proxy: CountingProxy;
}

/** Requests one command made, by kind and by repository folder. */
export interface CountedRequests {
  readonly counts: RequestCounts;
  readonly byFolder: Record<string, number>;
  /** The requests answered with a status >= 400 (HEADs of absent objects, retried failures), by folder and status. */
  readonly errorsByFolder: Record<string, number>;
}

export interface StoredBytes {
  readonly objects: number;
  readonly bytes: number;
}

export interface S3ContenderRound {
  readonly backup?: Measurement;
  readonly restore?: Measurement;
  readonly backupRequests?: CountedRequests;
  readonly restoreRequests?: CountedRequests;
  /** What the bucket holds under the contender's prefix after the backup (ListObjectsV2 sizes). */
  readonly stored?: StoredBytes;
  readonly restoredSummary?: string;
  readonly lifeboat?: LifeboatBackup;
  readonly problem?: string;
}

/** Take the requests the proxy saw since the last take, and forget them. */
export function takeRequests(proxy: CountingProxy, root: string): CountedRequests {
  const seen = [...proxy.requests];
  proxy.reset();
  const failed = seen.filter((request) => request.status >= 400);
  return {
    counts: countRequests(seen),
    byFolder: requestsByFolder(seen, root),
    errorsByFolder: requestsByFolder(failed, root, { withStatus: true }),
  };
}

/** Objects and bytes under `root` of a bucket, listed straight from s3rver (not through the proxy). */
export async function bucketBytes(server: S3TestServer, bucket: string, root: string): Promise<StoredBytes> {
  const backend = new RetryingBackend(
    new S3Backend({
      endpoint: server.endpoint,
      region: "us-east-1",
      pathStyle: true,
      bucket,
      root,
    }),
  );
  let objects = 0;
  let bytes = 0;
  try {
    for await (const info of backend.list("")) {
      objects++;
      bytes += info.size;
    }
  } finally {
    await backend.close();
  }
  return { objects, bytes };
}

/** The lifeboat.yaml of an s3:// repository reached through the proxy; credentials stay in the environment. */
export function s3RepositoryBlock(bucket: string, endpoint: string): string {
  return [
    "repository:",
    `  url: s3://${bucket}/lifeboat`,
    `  endpoint: ${endpoint}`,
    "  region: us-east-1",
    "  path_style: true",
    "  password_env: LIFEBOAT_PASSWORD",
    "",
  ].join("\n");
}

export async function prepareLifeboatS3(
  site: S3Site,
  source: BenchCluster,
  workDir: string,
  cliPath: string,
  jobs: number,
): Promise<LifeboatSetup & { bucket: string }> {
  const bucket = await site.server.createBucket("lifeboat");
  const configPath = join(workDir, "lifeboat-s3.yaml");
  await writeFile(
    configPath,
    s3RepositoryBlock(bucket, site.proxy.endpoint) +
      `sources:\n  bench-db: { engine: postgres, url: "${source.url(benchDatabase)}", jobs: ${jobs} }\n`,
  );
  const env = { LIFEBOAT_PASSWORD: "bench-only-password-not-a-secret", ...s3Environment };
  // s3rver keeps a bucket as a folder: du -sb of it is the growth lifeboatBackup reports.
  return { cliPath, configPath, repoDir: join(site.server.directory, bucket), env, bucket };
}

/** init (not counted), then a counted backup and a counted restore into a new database. */
export async function runLifeboatS3Round(
  site: S3Site,
  setup: LifeboatSetup & { bucket: string },
  source: BenchCluster,
  target: BenchCluster,
  options: MeasureOptions,
): Promise<S3ContenderRound> {
  const init = await measure("lifeboat-s3 init", lifeboatInitCommand(setup), { ...options, env: setup.env });
  if (!init.ok) return { problem: `init failed (exit ${init.exitCode}): ${init.stderrTail.trim()}` };
  site.proxy.reset();
  const lifeboat = await lifeboatBackup(setup, source, "lifeboat-s3 backup", options);
  const backupRequests = takeRequests(site.proxy, "lifeboat/");
  const backup = lifeboat.measurement;
  if (!backup.ok)
    return {
      backup,
      backupRequests,
      problem: `backup failed (exit ${backup.exitCode}): ${backup.stderrTail}`,
    };
  const stored = await bucketBytes(site.server, setup.bucket, "lifeboat/");
  const { restore, restoredSummary } = await lifeboatRestore(setup, target, options);
  const restoreRequests = takeRequests(site.proxy, "lifeboat/");
  const problem = restore.ok ? undefined : `restore failed (exit ${restore.exitCode}): ${restore.stderrTail}`;
  return { backup, restore, backupRequests, restoreRequests, stored, restoredSummary, lifeboat, problem };
}

function lifeboatInitCommand(setup: LifeboatSetup): string {
  return `${process.execPath} ${setup.cliPath} -c ${setup.configPath} init`;
}

/**
 * restic's runbook for the same database: the directory dump Lifeboat's
 * engine also makes, backed up by restic (zstd, encrypted, deduplicated),
 * restored with `restic restore` and `pg_restore -j2`. The dump and the
 * restored folder are removed outside the timed commands.
 */
export async function runResticS3Round(
  site: S3Site,
  source: BenchCluster,
  target: BenchCluster,
  options: MeasureOptions,
  jobs: number,
): Promise<S3ContenderRound> {
  const bucket = await site.server.createBucket("restic");
  const repo = `s3:${site.proxy.endpoint}/${bucket}/restic`;
  const dumpDir = join(options.workDir, "restic-dump");
  const restoredDir = join(options.workDir, "restic-restored");
  const env = {
    ...s3Environment,
    RESTIC_PASSWORD: "bench-only-password-not-a-secret",
    RESTIC_CACHE_DIR: join(options.workDir, "restic-cache"),
  };
  const run = { ...options, env };
  const restic = `restic -r ${repo}`;
  const init = await measure("restic-s3 init", `${restic} init`, run);
  if (!init.ok) return { problem: `restic init failed (exit ${init.exitCode}): ${init.stderrTail.trim()}` };
  await rm(dumpDir, { recursive: true, force: true });
  await source.psql("CHECKPOINT");
  site.proxy.reset();
  const conn = connectionArgs(source.port).join(" ");
  const backup = await measure(
    "restic-s3 backup",
    `${join(pgBin, "pg_dump")} ${conn} -Fd -j${jobs} -Z0 -f ${dumpDir} ${benchDatabase}\n${restic} backup -q ${dumpDir}`,
    run,
  );
  const backupRequests = takeRequests(site.proxy, "restic/");
  await rm(dumpDir, { recursive: true, force: true });
  if (!backup.ok) return { backup, backupRequests, problem: `restic backup failed: ${backup.stderrTail}` };
  const stored = await bucketBytes(site.server, bucket, "restic/");
  await target.psql("CREATE DATABASE restored_restic");
  await target.psql("CHECKPOINT");
  await rm(restoredDir, { recursive: true, force: true });
  const targetConn = connectionArgs(target.port).join(" ");
  const restore = await measure(
    "restic-s3 restore",
    `${restic} restore latest -q --target ${restoredDir}\n${join(pgBin, "pg_restore")} ${targetConn} -j${jobs} -d restored_restic ${join(restoredDir, dumpDir)}`,
    run,
  );
  const restoreRequests = takeRequests(site.proxy, "restic/");
  await rm(restoredDir, { recursive: true, force: true });
  const restoredSummary = restore.ok
    ? await contentSummary(target, "restored_restic").catch((error: Error) => `error: ${error.message}`)
    : undefined;
  await target.psql("DROP DATABASE IF EXISTS restored_restic");
  const problem = restore.ok ? undefined : `restic restore failed: ${restore.stderrTail}`;
  return { backup, restore, backupRequests, restoreRequests, stored, restoredSummary, problem };
}
