// The postgres engine's point-in-time recovery, as the operations layer sees
// it (engine.ts, PitrSupport): which snapshots are base backups and what
// they reach, the PITR window, WAL file identity, and recovery itself.

import { parseDuration } from "../../../domain/duration.ts";
import type { Snapshot } from "../../../domain/snapshot.ts";
import { DEFAULT_WAL_SEGMENT_SIZE, parseLsn, type BaseBackup } from "../../../domain/wal.ts";
import type { PitrSupport } from "../../engine.ts";
import { postgresModeOf, type PostgresSourceConfig } from "../config.ts";
import { placeMarkers, readMarkers } from "./markers.ts";
import { dropStreamSlot, receiveWal, slotOf } from "./receive-wal.ts";
import { checkRecoveryTarget, recover } from "./recover.ts";
import { readyWalFiles, systemIdOfDataDir, systemIdOfWalFile } from "./wal-file.ts";

function baseBackupOf(snapshot: Snapshot): BaseBackup | undefined {
  const meta = snapshot.engineMeta;
  if (meta["format"] !== "physical") return undefined;
  return {
    id: snapshot.id,
    systemId: String(meta["system_identifier"]),
    timeline: Number(meta["timeline"]),
    startLsn: parseLsn(String(meta["start_lsn"])),
    stopLsn: parseLsn(String(meta["stop_lsn"])),
    stopTime: new Date(String(meta["stop_time"])),
    segmentSize: Number(meta["wal_segment_size"] ?? DEFAULT_WAL_SEGMENT_SIZE),
  };
}

export const postgresPitr: PitrSupport<PostgresSourceConfig> = {
  takesBaseBackups: (source) => postgresModeOf(source) !== "logical",
  baseBackupOf,
  windowSeconds: (source) => (source.pitr_window ? parseDuration(source.pitr_window) : undefined),
  systemIdOfWalFile: (path, name) => systemIdOfWalFile(path, name),
  systemIdOfDataDir: (dir) => systemIdOfDataDir(dir),
  readyWalFiles: (walDir) => readyWalFiles(walDir),
  asyncPush: (source) =>
    source.wal_push?.async && source.wal_push.spool_dir
      ? {
          spoolDir: source.wal_push.spool_dir,
          parallel: source.wal_push.parallel,
          waitMs: parseDuration(source.wal_push.wait) * 1000,
        }
      : undefined,
  streamSettings: (source, sourceName) =>
    source.wal_stream
      ? {
          dir: source.wal_stream.dir,
          slot: slotOf(sourceName, source.wal_stream.slot),
          intervalMs: parseDuration(source.wal_stream.interval) * 1000,
        }
      : undefined,
  receiveWal: (source, settings, context) => receiveWal(source, settings, context),
  dropStreamSlot: (source, settings) => dropStreamSlot(source, settings.slot),
  checkRecoveryTarget,
  recover,
  placeMarkers: (source, drillId) => placeMarkers(source, drillId),
  readMarkers: (url, drillId) => readMarkers(url, drillId),
};
