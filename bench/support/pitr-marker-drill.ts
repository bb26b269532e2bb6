// Part 5 of the PITR benchmark (Lifeboat only: pgBackRest has no drill): a
// marker drill of the source while pgbench writes at full speed, issue 8's
// "RPO a marker drill measures under that pgbench load". The drill writes a
// marker row, forces a WAL switch, restores a throwaway cluster to that
// moment from the archive and measures the RPO from the markers it finds.
// The goal in archive mode is one segment switch interval: how long
// PostgreSQL takes to fill a 16 MiB segment at that write rate, measured
// here from the WAL position before and after.

import { setTimeout as sleep } from "node:timers/promises";
import { measure, type Measurement, type MeasureOptions } from "./measure.ts";
import type { BenchCluster } from "./pg-cluster.ts";
import {
  lifeboatBaseBackup,
  lifeboatSource,
  writeLifeboatConfig,
  type LifeboatPitr,
} from "./pitr-lifeboat.ts";
import { pgbenchFor, type PgbenchRun } from "./pitr-workload.ts";

const segmentBytes = 16 * 1024 * 1024;

export interface MarkerDrillResult {
  readonly measurement: Measurement;
  readonly status?: string;
  /** rpo.achieved of the drill report, seconds. */
  readonly rpoSeconds?: number;
  readonly rtoSeconds?: number;
  readonly phases?: Record<string, number>;
  readonly pgbench: PgbenchRun;
  /** Seconds per 16 MiB of WAL while pgbench ran: the archive mode's segment switch interval. */
  readonly segmentIntervalSeconds: number;
  /** Set when the fresh base backup failed: the drill then replayed from the older one. */
  readonly problem?: string;
}

const walPosition = async (source: BenchCluster) =>
  Number(await source.psql("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"));

export async function runMarkerDrill(
  source: BenchCluster,
  lifeboat: LifeboatPitr,
  pgbenchSeconds: number,
  options: MeasureOptions,
): Promise<MarkerDrillResult> {
  // A fresh base backup, as a nightly one would be: the drill replays only this run's WAL.
  const backup = await lifeboatBaseBackup(lifeboat, "lifeboat backup before the marker drill", options);
  const problem = backup.measurement.ok
    ? undefined
    : `the base backup before the marker drill failed (exit ${backup.measurement.exitCode}): the drill replayed from the older one`;
  await writeLifeboatConfig(lifeboat, source.port, undefined, { markerDrill: true });
  try {
    const walBefore = await walPosition(source);
    const writes = pgbenchFor(source, pgbenchSeconds);
    await sleep(5000); // pgbench at full speed before the drill marks
    const measurement = await measure(
      "lifeboat drill (markers, under pgbench)",
      `${lifeboat.command} drill ${lifeboatSource} --json`,
      options,
    );
    const pgbench = await writes;
    const walBytes = (await walPosition(source)) - walBefore;
    const report = parseReport(measurement.stdout);
    return {
      measurement,
      ...report,
      pgbench,
      segmentIntervalSeconds: pgbench.seconds / (walBytes / segmentBytes),
      ...(problem ? { problem } : {}),
    };
  } finally {
    await writeLifeboatConfig(lifeboat, source.port);
  }
}

function parseReport(
  stdout: string,
): Pick<MarkerDrillResult, "status" | "rpoSeconds" | "rtoSeconds" | "phases"> {
  try {
    const report = JSON.parse(stdout) as {
      status?: string;
      rpo?: { achieved?: number };
      rto?: { achieved?: number };
      phases?: Record<string, number>;
    };
    return {
      ...(report.status ? { status: report.status } : {}),
      ...(typeof report.rpo?.achieved === "number" ? { rpoSeconds: report.rpo.achieved } : {}),
      ...(typeof report.rto?.achieved === "number" ? { rtoSeconds: report.rto.achieved } : {}),
      ...(report.phases ? { phases: report.phases } : {}),
    };
  } catch {
    return {};
  }
}
