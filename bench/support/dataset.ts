// The benchmark database: pgbench's tables (whose filler columns compress very
// well) plus a table of base64-encoded random bytes that no compressor can
// shrink below ~75% (6 bits of entropy per 8-bit character), so compression
// does not flatter anyone. Also the churn between the first and second backup,
// and a cheap content summary used to check every restore.

import { join } from "node:path";
import { connectionArgs, pgBin, runTool, type BenchCluster } from "./pg-cluster.ts";

/** 1 KiB of random bytes per row, as base64 text with newlines: 1,385 characters. */
const randomBytesPerRow = 1024;
const textBytesPerRow = 1385;

export const benchDatabase = "bench";

export interface DatasetFacts {
  readonly databaseBytes: number;
  readonly randomRows: number;
  readonly randomSource: "pgcrypto gen_random_bytes" | "md5(random()) hex";
}

export async function createDataset(
  cluster: BenchCluster,
  scale: number,
  randomMb: number,
): Promise<DatasetFacts> {
  await cluster.psql(`CREATE DATABASE ${benchDatabase}`);
  const pgbench = await runTool(join(pgBin, "pgbench"), [
    ...connectionArgs(cluster.port),
    "-i",
    "-q",
    "-s",
    String(scale),
    benchDatabase,
  ]);
  if (pgbench.code !== 0) throw new Error(`pgbench -i failed: ${pgbench.stderr.trim()}`);

  const randomRows = Math.max(1, Math.ceil((randomMb * 1024 * 1024) / textBytesPerRow));
  let randomSource: DatasetFacts["randomSource"] = "pgcrypto gen_random_bytes";
  try {
    await cluster.psql("CREATE EXTENSION IF NOT EXISTS pgcrypto", benchDatabase);
  } catch {
    randomSource = "md5(random()) hex";
  }
  await cluster.psql(
    "CREATE TABLE random_blobs (id integer PRIMARY KEY, payload text NOT NULL)",
    benchDatabase,
  );
  // Batches keep each statement's memory and WAL burst modest.
  const batch = 20_000;
  for (let first = 1; first <= randomRows; first += batch) {
    const last = Math.min(randomRows, first + batch - 1);
    await cluster.psql(
      `INSERT INTO random_blobs SELECT g, ${randomPayload(randomSource)} FROM generate_series(${first}, ${last}) g`,
      benchDatabase,
    );
  }
  await cluster.psql("VACUUM ANALYZE", benchDatabase);
  await cluster.psql("CHECKPOINT");
  const databaseBytes = Number(await cluster.psql(`SELECT pg_database_size('${benchDatabase}')`));
  return { databaseBytes, randomRows, randomSource };
}

function randomPayload(source: DatasetFacts["randomSource"]): string {
  if (source === "pgcrypto gen_random_bytes") {
    return `encode(gen_random_bytes(${randomBytesPerRow}), 'base64')`;
  }
  // Hex is only 4 bits of entropy per character: compressible about 2x.
  return `(SELECT string_agg(md5(random()::text || g::text || i::text), '') FROM generate_series(1, 43) i)`;
}

export type ChurnPattern = "spread" | "clustered";

/**
 * Updates ~1% of the rows of pgbench_accounts and random_blobs. "spread" touches
 * every 100th row (the brief's workload: a changed row on almost every page);
 * "clustered" touches one contiguous 1% range of ids (a hot region).
 */
export async function applyChurn(
  cluster: BenchCluster,
  pattern: ChurnPattern,
  randomSource: string,
): Promise<{ walBytes: number }> {
  // WAL written by the churn: what a WAL-archiving (PITR) backup would have to store for it.
  const walBefore = await cluster.psql("SELECT pg_current_wal_insert_lsn()");
  const accounts = Number(await cluster.psql("SELECT max(aid) FROM pgbench_accounts", benchDatabase));
  const blobs = Number(await cluster.psql("SELECT max(id) FROM random_blobs", benchDatabase));
  const where = (column: string, total: number) =>
    pattern === "spread"
      ? `${column} % 100 = 0`
      : `${column} BETWEEN ${Math.floor(total / 2)} AND ${Math.floor(total / 2) + Math.ceil(total / 100) - 1}`;
  await cluster.psql(
    `UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE ${where("aid", accounts)}`,
    benchDatabase,
  );
  const payload =
    randomSource === "pgcrypto gen_random_bytes"
      ? `encode(gen_random_bytes(${randomBytesPerRow}), 'base64')`
      : "md5(random()::text) || substr(payload, 33)";
  await cluster.psql(
    `UPDATE random_blobs SET payload = ${payload} WHERE ${where("id", blobs)}`,
    benchDatabase,
  );
  const walBytes = Number(
    await cluster.psql(`SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '${walBefore}')`),
  );
  await cluster.psql("CHECKPOINT");
  return { walBytes };
}

/** Row counts and content sums that must match between the source and every restore. */
export async function contentSummary(cluster: BenchCluster, database: string): Promise<string> {
  return cluster.psql(
    `SELECT (SELECT count(*) FROM pgbench_accounts) || '/' ||
            (SELECT sum(abalance) FROM pgbench_accounts) || '/' ||
            (SELECT count(*) FROM pgbench_branches) || '/' ||
            (SELECT count(*) FROM pgbench_tellers) || '/' ||
            (SELECT count(*) FROM random_blobs) || '/' ||
            (SELECT sum(hashtext(payload)::bigint) FROM random_blobs)`,
    database,
  );
}
