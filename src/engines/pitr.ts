// What an engine with point-in-time recovery (capabilities.pitr) offers the
// operations layer: which snapshots are base backups, the WAL archive's file
// facts, recovery into a data directory, and drill markers. The postgres
// engine implements it in engines/postgres/physical/.

import type { ArtifactSource } from "../domain/artifacts.ts";
import type { Snapshot } from "../domain/snapshot.ts";
import type { BaseBackup, RecoveryAction, RecoveryTarget } from "../domain/wal.ts";
import type { EngineContext, PreserveRequest } from "./engine.ts";

/** What an engine with point-in-time recovery offers the operations layer. */
export interface PitrSupport<C> {
  /** Whether backups of this source take base backups (and its WAL is archived). */
  takesBaseBackups(source: C): boolean;
  /** The base backup facts of a snapshot; undefined for a snapshot that is no base backup. */
  baseBackupOf(snapshot: Snapshot): BaseBackup | undefined;
  /** How far back every moment must stay restorable (pitr_window), in seconds; undefined: no window. */
  windowSeconds(source: C): number | undefined;
  /**
   * The cluster (system identifier) a WAL file belongs to, read from the file
   * (a segment's page header) or from the data directory it is pushed from.
   */
  systemIdOfWalFile(path: string, name: string): Promise<string>;
  /** The system identifier of the cluster in a data directory (restore_command runs in one). */
  systemIdOfDataDir(dir: string): Promise<string>;
  /** Asynchronous archiving settings (wal_push.async); undefined: each wal-push stores its file itself. */
  asyncPush(source: C): AsyncPushSettings | undefined;
  /** Streaming settings (wal_stream); undefined: WAL reaches the archive through archive_command only. */
  streamSettings(source: C, sourceName: string): WalStreamSettings | undefined;
  /** Start streaming the source's WAL into `settings.dir`, creating its replication slot when missing. */
  receiveWal(source: C, settings: WalStreamSettings, context: EngineContext): Promise<WalReceiver>;
  /** Remove the source's replication slot; false when there is none. */
  dropStreamSlot(source: C, settings: WalStreamSettings): Promise<boolean>;
  /** WAL files in `walDir` the server has finished and waits to archive, in archiving order. */
  readyWalFiles(walDir: string): Promise<string[]>;
  /** A target a recovery may use (a data directory path); BAD_ARGUMENT otherwise. */
  checkRecoveryTarget(target: string): string;
  /**
   * Lay down the base backup at `target`, write the recovery settings and,
   * with `input.start`, start the server and wait until it reached the target.
   */
  recover(input: RecoveryInput, target: string, context: EngineContext): Promise<RecoveryOutcome>;
  /**
   * drill.marker: write a marker into the source, note the moment right
   * after it, write a second marker, and push both towards the archive.
   */
  placeMarkers(source: C, drillId: string, context: EngineContext): Promise<MarkerPlacement>;
  /** The markers a restored server (a URL recover() returned) holds. */
  readMarkers(url: string, drillId: string, context: EngineContext): Promise<MarkersFound>;
}

export interface AsyncPushSettings {
  readonly spoolDir: string;
  readonly parallel: number;
  /** How long one wal-push waits for the background pusher, in milliseconds. */
  readonly waitMs: number;
}

export interface WalStreamSettings {
  /** Where the receiver writes: finished segments, history files and the current `<segment>.partial`. */
  readonly dir: string;
  readonly slot: string;
  /** How often the streamed head is stored, in milliseconds. */
  readonly intervalMs: number;
}

/** A running WAL receiver (pg_receivewal). */
export interface WalReceiver {
  readonly systemId: string;
  readonly segmentSize: number;
  /** The LSN up to which the receiver's files hold flushed WAL; undefined before its first report. */
  flushed(): Promise<bigint | undefined>;
  /** Settles, with what happened, when the receiver exits: by itself (a lost connection) or after stop(). */
  readonly exited: Promise<string>;
  /** Let the receiver flush and leave. */
  stop(): Promise<void>;
}

export interface DrillMarker {
  readonly drillId: string;
  readonly label: "before" | "after";
  /** Commit-time clock of the source, ISO-8601. */
  readonly at: string;
}

export interface MarkerPlacement {
  /** The moment between the two markers, to restore to. */
  readonly target: RecoveryTarget;
  readonly before: DrillMarker;
  readonly after: DrillMarker;
  /** The WAL segment holding the second marker: the drill waits until it is archived (or streamed past afterLsn). */
  readonly segment: string;
  readonly afterLsn: string;
  /** The WAL was switched after the markers (archive mode); false when they are streamed (wal_stream). */
  readonly switched: boolean;
}

export interface MarkersFound {
  /** This drill's markers in the restore, in order. */
  readonly ofThisDrill: readonly DrillMarker[];
  /** The newest marker of any drill in the restore. */
  readonly newest: DrillMarker | undefined;
}

export interface RecoveryInput {
  readonly artifacts: ArtifactSource;
  readonly engineMeta: Readonly<Record<string, unknown>>;
  readonly snapshotId: string;
  readonly target: RecoveryTarget;
  readonly action: RecoveryAction;
  /** The timeline recovery ends on (planned). */
  readonly timeline: number;
  /** Replace a non-empty target directory (never one a server runs in). */
  readonly force: boolean;
  /** Keep the directory a forced restore replaces as `<datadir>.pre_restore_<stamp>` (absent: removed). */
  readonly preserve?: PreserveRequest;
  /** restore_command for a server started later by the operator: it calls `lifeboat wal-fetch`. */
  readonly restoreCommand: string;
  /** Start the server and wait for the recovery to end; absent: only lay down and configure. */
  readonly start?: RecoveryStart;
}

export interface RecoveryStart {
  /** TCP port on localhost; absent: a throwaway server on a unix socket only (drills). */
  readonly port?: number;
  /** The server is disposable (a drill): durability off, removed by the caller through `stop`. */
  readonly throwaway: boolean;
  /**
   * Fill `spoolDir` with the WAL files recovery reads (the caller fetches
   * them ahead of replay); the server's restore_command reads the spool.
   */
  feedWal(spoolDir: string): Promise<WalFeed>;
}

export interface WalFeed {
  /** Stop fetching and wait for the fetcher to settle. */
  stop(): Promise<void>;
}

export interface RecoveryOutcome {
  readonly dataDir: string;
  /** A started server: how to reach it (a postgres:// URL for fingerprint()/queryScalar()). */
  readonly url?: string;
  /** Where the server stopped: its replay LSN and timeline, when started. */
  readonly reachedLsn?: string;
  readonly reachedTimeline?: number;
  /** Seconds: laying down the files, WAL replay, the end of recovery (promote), when started. */
  readonly phases: { readonly layDown: number; readonly replay?: number; readonly promote?: number };
  /** Stop a started server (and, for throwaway ones, remove it). Safe to call twice. */
  stop?(): Promise<void>;
  /** Keep a throwaway server for inspection; returns how to reach and remove it. */
  keep?(): string;
}
