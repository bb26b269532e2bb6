// Part 6 of the PITR benchmark (Lifeboat only): marker drills in streaming
// mode while pgbench writes at full speed, issue 8's "RPO a marker drill
// measures under that pgbench load: streaming mode (goal <= 5 s)".
// `lifeboat wal-stream` runs as the server's user (as a systemd unit would),
// the drills write their markers without switching WAL, and each report
// says how long after the drill's moment the archive held the markers
// (pointInTime.markersArchivedAfter): what a failure at that moment could
// have lost. Drills follow one another for as long as pgbench runs (at most
// three).

import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { makeSpoolDir } from "./pitr-async.ts";
import { measure, type MeasureOptions } from "./measure.ts";
import type { BenchCluster } from "./pg-cluster.ts";
import { lifeboatSource, writeLifeboatConfig, type LifeboatPitr } from "./pitr-lifeboat.ts";
import { pgbenchFor, type PgbenchRun } from "./pitr-workload.ts";

const MAX_DRILLS = 3;

export interface StreamDrill {
  readonly seconds: number;
  readonly status?: string;
  /** rpo.achieved, seconds. */
  readonly rpoSeconds?: number;
  /** pointInTime.markersArchivedAfter, seconds. */
  readonly archivedAfterSeconds?: number;
  readonly walDelivery?: string;
}

export interface StreamDrillResult {
  readonly drills: readonly StreamDrill[];
  readonly pgbench: PgbenchRun;
  /** The streamer's exit code after SIGTERM and the last lines it wrote. */
  readonly streamerExit: number | null;
  readonly streamerTail: string;
  readonly problem?: string;
}

export async function runStreamingMarkerDrills(
  source: BenchCluster,
  lifeboat: LifeboatPitr,
  pgbenchSeconds: number,
  options: MeasureOptions,
): Promise<StreamDrillResult> {
  const streamDir = await makeSpoolDir(lifeboat.dir, "stream");
  await writeLifeboatConfig(lifeboat, source.port, undefined, { markerDrill: true, streamDir });
  const streamer = spawn(
    "setpriv",
    [
      "--reuid=postgres",
      "--regid=postgres",
      "--init-groups",
      "--",
      process.execPath,
      lifeboat.cliPath,
      "-c",
      lifeboat.configPath,
      "wal-stream",
      lifeboatSource,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  streamer.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => streamer.on("close", (code) => resolve(code)));
  const drills: StreamDrill[] = [];
  let problem: string | undefined;
  let pgbench: PgbenchRun | undefined;
  try {
    const deadline = Date.now() + 30_000;
    // Streaming once its slot is in use.
    const active = () =>
      source.psql("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name LIKE 'lifeboat_%'");
    while ((await active()) === "0") {
      if (Date.now() > deadline || streamer.exitCode !== null)
        throw new Error(`wal-stream did not start: ${stderr.trim()}`);
      await sleep(100);
    }
    const started = Date.now();
    const writes = pgbenchFor(source, pgbenchSeconds);
    await sleep(5000); // pgbench at full speed before the first drill marks
    // At least one drill; more while pgbench has time left for one (a drill takes about 10 s).
    while (
      drills.length === 0 ||
      (drills.length < MAX_DRILLS && Date.now() - started < (pgbenchSeconds - 15) * 1000)
    ) {
      const measurement = await measure(
        `lifeboat drill (markers, streaming, under pgbench) ${drills.length + 1}`,
        `${lifeboat.command} drill ${lifeboatSource} --json`,
        options,
      );
      drills.push({ seconds: measurement.seconds, ...parseStreamReport(measurement.stdout) });
    }
    pgbench = await writes;
  } catch (error) {
    problem = (error as Error).message;
  } finally {
    streamer.kill("SIGTERM");
  }
  const streamerExit = await exited;
  await measure(
    "lifeboat wal-stream --drop-slot",
    `${lifeboat.command} wal-stream ${lifeboatSource} --drop-slot`,
    options,
  );
  await writeLifeboatConfig(lifeboat, source.port);
  return {
    drills,
    pgbench: pgbench ?? { seconds: 0, tps: 0, transactions: 0 },
    streamerExit,
    streamerTail: stderr.trim().split("\n").slice(-3).join(" / "),
    ...(problem ? { problem } : {}),
  };
}

function parseStreamReport(stdout: string): Omit<StreamDrill, "seconds"> {
  try {
    const report = JSON.parse(stdout) as {
      status?: string;
      rpo?: { achieved?: number };
      pointInTime?: { markersArchivedAfter?: number; walDelivery?: string };
    };
    return {
      ...(report.status ? { status: report.status } : {}),
      ...(typeof report.rpo?.achieved === "number" ? { rpoSeconds: report.rpo.achieved } : {}),
      ...(typeof report.pointInTime?.markersArchivedAfter === "number"
        ? { archivedAfterSeconds: report.pointInTime.markersArchivedAfter }
        : {}),
      ...(report.pointInTime?.walDelivery ? { walDelivery: report.pointInTime.walDelivery } : {}),
    };
  } catch {
    return {};
  }
}
