// Writes for the PITR benchmark: pgbench's TPC-B-like transactions against the
// bench database, either a fixed number (the same WAL for every tool before
// and after the recovery target) or at full speed for a while (the archive
// lag run).

import { join } from "node:path";
import { connectionArgs, pgBin, runTool, type BenchCluster } from "./pg-cluster.ts";
import { benchDatabase } from "./dataset.ts";

export interface PgbenchRun {
  readonly transactions: number;
  readonly tps: number;
  readonly seconds: number;
}

const clients = 2;

async function pgbench(cluster: BenchCluster, limit: string[]): Promise<PgbenchRun> {
  const started = performance.now();
  const outcome = await runTool(join(pgBin, "pgbench"), [
    ...connectionArgs(cluster.port),
    "-c",
    String(clients),
    "-j",
    String(clients),
    "-n", // the tables were vacuumed when the dataset was made
    ...limit,
    benchDatabase,
  ]);
  if (outcome.code !== 0) throw new Error(`pgbench on ${cluster.name} failed: ${outcome.stderr.trim()}`);
  const processed = /number of transactions actually processed: (\d+)/.exec(outcome.stdout);
  const tps = /tps = ([\d.]+)/.exec(outcome.stdout);
  return {
    transactions: Number(processed?.[1] ?? NaN),
    tps: Number(tps?.[1] ?? NaN),
    seconds: (performance.now() - started) / 1000,
  };
}

/** `total` transactions split over the clients. */
export function pgbenchTransactions(cluster: BenchCluster, total: number): Promise<PgbenchRun> {
  return pgbench(cluster, ["-t", String(Math.max(1, Math.ceil(total / clients)))]);
}

/** As many transactions as the server takes in `seconds`. */
export function pgbenchFor(cluster: BenchCluster, seconds: number): Promise<PgbenchRun> {
  return pgbench(cluster, ["-T", String(seconds)]);
}

/** The server's clock, as PostgreSQL prints a timestamptz in UTC: a recovery target both tools accept. */
export async function serverNow(cluster: BenchCluster): Promise<string> {
  return cluster.psql("SET TIME ZONE 'UTC'; SELECT clock_timestamp()");
}
