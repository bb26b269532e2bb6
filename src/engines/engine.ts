// One definition per engine. Each engine folder exports one object of this
// shape: its config schema, the restore options it takes, what it can do
// (capabilities), and capture/restore/fingerprint/scratch. Everything else
// (config union, engine names, the registry, restore planning, drills) is
// derived from the list in registry.ts, so adding an engine is one folder
// plus one line there (docs/engines.md, "How to add an engine").
//
// Engines use the service's own tools for the byte-level work (pg_dump,
// SQLite's backup API, tar) and never import the repository: they write to
// an ArtifactSink and read from an ArtifactSource (domain/artifacts.ts).

import type { z } from "zod";
import type { ArtifactSink, ArtifactSource } from "../domain/artifacts.ts";
import type { Fingerprint } from "../domain/fingerprint.ts";
import type { Snapshot } from "../domain/snapshot.ts";
import type { SnapshotContents, SnapshotObject, TreeListingEntry } from "../domain/snapshot-contents.ts";
import type { PreservedCopy } from "../domain/preserved.ts";
import type { WalFiles } from "../domain/wal.ts";
import type { PitrSupport } from "./pitr.ts";

export type { PreservedCopy } from "../domain/preserved.ts";
export type {
  AsyncPushSettings,
  DrillMarker,
  MarkerPlacement,
  MarkersFound,
  PitrSupport,
  RecoveryInput,
  RecoveryOutcome,
  RecoveryStart,
  WalFeed,
  WalReceiver,
  WalStreamSettings,
} from "./pitr.ts";
import type { CommonSourceConfig } from "../config/source-fields.ts";
import type { Logger } from "../runtime/logger.ts";
import type { ProcessRunner } from "../runtime/process.ts";

export type { ArtifactSink, ArtifactSource };
export type { SnapshotContents, SnapshotObject, TreeListingEntry };

export type RestorePhase = "fetch" | "restore";

export interface EngineContext {
  readonly runner: ProcessRunner;
  readonly log: Logger;
  /** A private scratch directory for spooling; the caller removes it afterwards. */
  readonly tempDir: string;
  readonly signal?: AbortSignal;
  /** Called when a restore moves from fetching artifacts to the service's own restore; drills time each phase. */
  readonly onPhase?: (phase: RestorePhase) => void;
  /** The source's WAL archive for a cluster (system identifier): physical PostgreSQL backups read from it. */
  readonly wal?: (systemId: string) => WalFiles;
  /**
   * Set by restores and drills: the snapshot being restored (its engineMeta)
   * and the source's config as lifeboat.yaml declares it now (absent when the
   * source was removed). Engines whose inspectTarget and fingerprint run the
   * user's own commands (command) read them here.
   */
  readonly restoring?: {
    readonly engineMeta: Readonly<Record<string, unknown>>;
    readonly source?: CommonSourceConfig;
  };
}

/** The kinds of partial restore an engine offers (capabilities.partialRestore). */
export type PartialRestoreKind = "paths" | "tables";

/** Kinds of throwaway target an engine can make for a drill. */
export type ScratchKind = "throwaway-cluster" | "server-database" | "directory";

/** What an engine can do, declared, so callers read a capability instead of testing an engine's name. */
export interface EngineCapabilities {
  /**
   * Restores build the complete target under a partial name and swap it into
   * place only after `RestoreInput.verify` accepted it: the old target is
   * never replaced by data that failed verification. Engines without it
   * state what they guarantee instead in `restoreGuarantee`.
   */
  readonly atomicSwap: boolean;
  /** `sql:` drill checks can run against a restored target (queryScalar). */
  readonly sqlChecks: boolean;
  /** `redis:` drill checks (a command and its expected reply) can run against a restored target (runCheckCommand). */
  readonly commandChecks?: boolean;
  /** `content_hashes: true` is supported (per-table content hashes in the fingerprint). */
  readonly contentHashes: boolean;
  /** Point-in-time recovery from continuous archiving. */
  readonly pitr: boolean;
  /**
   * Restoring a part of a snapshot: "paths" (`--include`/`--exclude` globs
   * over a tree), "tables" (`--table`/`--schema`). Empty: whole snapshots only.
   */
  readonly partialRestore: readonly PartialRestoreKind[];
  /** Kinds of scratch target provisionScratch can make. */
  readonly scratch: readonly ScratchKind[];
  /**
   * A restore that replaces a non-empty target can keep the old one aside
   * (RestoreOptions.preserve), and swapBack/dropPreserved handle that copy.
   * Without it, the target is captured as a snapshot first where the engine
   * offers sourceForTarget; otherwise replacing it needs --no-preserve.
   */
  readonly preservesReplaced?: boolean;
}

/** The restore options an engine may take; each engine declares which (and what they mean for it). */
export type RestoreFlagName = "clean" | "force" | "globals";

export interface RestoreFlag {
  readonly name: RestoreFlagName;
  /** For --help and docs, e.g. "drop and recreate a non-empty target database". */
  readonly description: string;
  /** This flag permits replacing a target that is not empty. */
  readonly replacesTarget: boolean;
}

/** Where a drill's scratch target should live, from the source's `drill:` config. */
export interface ScratchRequest {
  /** A configured scratch server (postgres URL) or directory (sqlite/files); absent: the engine picks a throwaway one. */
  readonly target?: { readonly url?: string | undefined; readonly path?: string | undefined };
  /** Permit a scratch target on the source's own server (never the source database itself). */
  readonly allowSourceServer: boolean;
  /** Unique label for names (databases, directories), so drills can run side by side. */
  readonly label: string;
  /**
   * Leave the scratch target in place when the drill fails (drill.keep_on_failure).
   * Told at provisioning because a throwaway server must then outlive the process.
   */
  readonly keepOnFailure?: boolean;
}

/** A throwaway target made for one drill. */
export interface ScratchTarget {
  /** What restore() and fingerprint() take as target. */
  readonly target: string;
  /** Human-readable, safe to print: "database lifeboat_drill_x on 127.0.0.1:5433". */
  readonly description: string;
  /** Connection details for user checks (PGHOST, PGPORT, PGDATABASE, LIFEBOAT_TARGET, ...). No secrets. */
  readonly env: Readonly<Record<string, string>>;
  /** Remove everything provision made. Safe to call twice. */
  destroy(): Promise<void>;
  /**
   * Keep the target for inspection instead (keep_on_failure): whatever would
   * remove it when the process exits is disarmed. Returns how to reach it and
   * how to remove it by hand. Absent: keeping is not possible for this kind.
   */
  keep?(): Promise<string>;
}

export interface CaptureResult {
  /** The consistent point on the source's own clock (ISO-8601). */
  readonly consistentAt: string;
  readonly engineMeta: Record<string, unknown>;
  /** Taken at the same consistent point as the data. */
  readonly fingerprint: Fingerprint;
}

export interface FingerprintOptions {
  /** Also compute `content:<table>` hashes (the deep check); engines without tables ignore it. */
  readonly contentHashes?: boolean;
}

export interface RestoreOptions {
  /** Databases: drop and recreate a non-empty target. */
  readonly clean?: boolean;
  /** Files: replace a non-empty target directory. */
  readonly force?: boolean;
  /** PostgreSQL: also restore roles and other globals captured with the snapshot. */
  readonly globals?: boolean;
  /** PostgreSQL: parallel pg_restore jobs (default: the number of CPUs, at most 4). */
  readonly jobs?: number;
  /** Restore only a part of the snapshot (engines with capabilities.partialRestore). */
  readonly selection?: RestoreSelection;
  /**
   * Keep what the restore replaces (engines with capabilities.preservesReplaced):
   * a non-empty target is moved aside under a `pre_restore` name, never dropped.
   * Absent: replaced data is dropped (`--no-preserve`, drills' scratch targets).
   */
  readonly preserve?: PreserveRequest;
}

/** How a restore keeps the target it replaces, and how it says what it kept. */
export interface PreserveRequest {
  /** `YYYYMMDD_HHMMSS` (UTC): names are `<database>_pre_restore_<stamp>`, `<path>.pre_restore_<stamp>`. */
  readonly stamp: string;
  /** Called once for each copy kept, before the restored data takes the target's place. */
  kept(copy: PreservedCopy): void;
}

/**
 * A part of a snapshot to restore. Paths are relative to the tree's root,
 * "/"-separated; globs as restic's and git's (`*` within a name, `**` across
 * names). Tables are `schema.table` (postgres) or `table` (sqlite).
 */
export interface RestoreSelection {
  /** "paths": restore only entries matching one of these (and the directories above them). */
  readonly include?: readonly string[];
  /** "paths": leave out entries matching one of these (and everything below a matching directory). */
  readonly exclude?: readonly string[];
  /** "tables": these tables, with what they need to exist. */
  readonly tables?: readonly string[];
  /** "tables": every table of these schemas. */
  readonly schemas?: readonly string[];
  /** "tables": leave out foreign keys to tables not chosen instead of refusing. */
  readonly noForeignKeys?: boolean;
}

/**
 * How a partial restore is verified: the restored copy's fingerprint is
 * compared with `expected` on the keys `covers` accepts (on both sides), so
 * what was restored must match exactly and what was left out is not asked
 * for. `expected` is the snapshot's own fingerprint unless the engine derived
 * one for the part from data it authenticated against it (files: the tree index).
 */
export interface VerifyScope {
  readonly expected?: Fingerprint;
  readonly covers: (key: string) => boolean;
}

/** What a partial restore took, for the result and the run record. */
export interface PartialRestoreSummary {
  /** Tables (postgres `schema.table`, sqlite `table`) or the number of tree entries restored. */
  readonly tables?: readonly string[];
  readonly entries?: number;
  /** Regular-file bytes restored (paths). */
  readonly bytes?: number;
  /** What came along because the chosen part needs it, in words ("sequence public.invoices_id_seq", "type billing.status"). */
  readonly dependencies?: readonly string[];
  /** What was left out although it belongs to the chosen part (foreign keys with --no-foreign-keys). */
  readonly leftOut?: readonly string[];
}

export interface RestoreInput {
  readonly artifacts: ArtifactSource;
  readonly engineMeta: Readonly<Record<string, unknown>>;
  /**
   * Called with the complete partial target (a target string fingerprint()
   * accepts) before it replaces anything at the real target's name. If it
   * throws, the engine discards the partial and rethrows: nothing at the
   * target changed. Engines with capabilities.atomicSwap must call it; others
   * call it when they build a partial copy (mariadb), and a restore that did
   * not call it is verified at the target afterwards.
   */
  readonly verify?: (partialTarget: string, scope?: VerifyScope) => Promise<void>;
  /**
   * The fingerprint taken at backup: a partial restore checks its own metadata
   * (a tree index) against it. Set by every restore and drill; optional only
   * so tests can call restore() directly.
   */
  readonly fingerprint?: Fingerprint;
}

/** What a restore would find at its target, for --dry-run and guards. */
export interface TargetState {
  readonly exists: boolean;
  readonly empty: boolean;
  /** Names the target and what is there, e.g. "database app on 127.0.0.1:5432 (12 tables, 40 objects)". */
  readonly description: string;
}

/** Is a restore target the source itself? "unknown" when Lifeboat cannot prove either way. */
export interface TargetIdentity {
  readonly verdict: "same" | "different" | "unknown";
  /** Why, in words a user can check: "different system identifiers", "source unreachable: ...". */
  readonly reason: string;
}

export interface Engine<C extends CommonSourceConfig = CommonSourceConfig> {
  readonly name: string;
  /** One line for docs and --help. */
  readonly summary: string;
  /** The source's schema in lifeboat.yaml: a strictObject whose `engine` is this engine's name. */
  readonly configSchema: z.ZodType<C>;
  /** Source fields holding file-system paths, resolved against the config file's folder. */
  readonly pathFields: readonly string[];
  /** The restore options this engine takes; any other is refused before anything runs. */
  readonly restoreFlags: readonly RestoreFlag[];
  readonly capabilities: EngineCapabilities;
  /** What restore promises when capabilities.atomicSwap is false (printed by plans and docs). */
  readonly restoreGuarantee?: string;
  /** Validate (and normalise) a restore target: a URL for servers, a path for files; BAD_ARGUMENT otherwise. */
  checkTarget(target: string): string;
  /** Stream the source's data into `sink` and fingerprint it at the same consistent point. */
  capture(source: C, sink: ArtifactSink, context: EngineContext): Promise<CaptureResult>;
  /** Inspect the target without changing it. */
  inspectTarget(target: string, context: EngineContext): Promise<TargetState>;
  /**
   * Restore into `target`. Guarantees: the target is refused when non-empty
   * without a flag that replaces it; nothing appears under the target's name
   * (and nothing there is replaced) until every artifact has been verified and
   * `input.verify` accepted the partial target; an interrupted restore leaves
   * nothing that looks complete.
   */
  restore(
    input: RestoreInput,
    target: string,
    options: RestoreOptions,
    context: EngineContext,
  ): Promise<PartialRestoreSummary | void>;
  /**
   * What a snapshot holds, read from its manifest and small metadata artifacts
   * (a tree index, a dump's table of contents), never from its data: `ls` and
   * `diff` use it. Absent: they show the fingerprint's counts and the artifacts.
   */
  describeSnapshot?(
    snapshot: Snapshot,
    artifacts: ArtifactSource,
    context: EngineContext,
  ): Promise<SnapshotContents>;
  /**
   * Fingerprint a restored target the same way capture fingerprints the source.
   * With options.contentHashes (asked for when the snapshot's fingerprint has
   * `content:` hashes) engines that support it also hash every table's contents.
   */
  fingerprint(target: string, context: EngineContext, options?: FingerprintOptions): Promise<Fingerprint>;
  /**
   * Is `target` the source? `recorded` is the snapshot's engineMeta (identity
   * facts taken at backup), for when the source cannot be asked now.
   */
  identifyTarget(
    source: C,
    target: string,
    context: EngineContext,
    recorded?: Readonly<Record<string, unknown>>,
  ): Promise<TargetIdentity>;
  /**
   * Make a scratch target for a drill. Refuses (SCRATCH_ON_SOURCE) a target on
   * the source's own server or path unless request.allowSourceServer, and
   * never returns the source itself.
   */
  provisionScratch?(source: C, request: ScratchRequest, context: EngineContext): Promise<ScratchTarget>;
  /**
   * `restore --undo`: put `copy` (kept by an earlier restore into `target`)
   * back at the target, moving what is there now aside under a `pre_undo`
   * name and telling `aside.kept` as soon as it moved. Nothing is dropped.
   */
  swapBack?(
    target: string,
    copy: PreservedCopy,
    aside: PreserveRequest,
    context: EngineContext,
  ): Promise<void>;
  /**
   * The source config that captures `target` itself (the source's settings,
   * the target's address): how a restore keeps a target it cannot rename
   * aside, as a snapshot taken first. Undefined: this target cannot be captured.
   */
  sourceForTarget?(source: C, target: string): C | undefined;
  /** `preserved drop`: remove a copy kept beside `target`. Idempotent: a copy already gone is not an error. */
  dropPreserved?(target: string, copy: PreservedCopy, context: EngineContext): Promise<void>;
  /** Run a user's SQL assertion against a target; returns the first column of the first row. */
  queryScalar?(target: string, sql: string, context: EngineContext): Promise<unknown>;
  /**
   * Run one statement that may write (a scenario's `sql:` disruption, its
   * writer's markers) and commit it. Never used on a restore target.
   */
  executeSql?(target: string, sql: string, context: EngineContext): Promise<void>;
  /** Run one of the service's own commands (e.g. Redis `GET feature:123`) against a target; returns its reply. */
  runCheckCommand?(target: string, words: readonly string[], context: EngineContext): Promise<unknown>;
  /**
   * The source's current size and the same measure recorded at the snapshot,
   * in the same kind of bytes, for scaling a measured restore to today's
   * data. Undefined when it cannot be measured.
   */
  sourceGrowth?(source: C, snapshot: Snapshot, context: EngineContext): Promise<SourceGrowth | undefined>;
  /**
   * About how many artifact bytes a capture of the source will store, for a
   * backup's progress bar when there is no earlier snapshot to go by. Only
   * engines whose artifacts mirror the source's bytes offer it.
   */
  estimateCaptureBytes?(source: C): Promise<number | undefined>;
  /**
   * A source whose one backup takes more than one snapshot (postgres `mode:
   * both`: a logical and a physical one): the source config of each capture.
   * Absent or one element: one snapshot per backup.
   */
  captureVariants?(source: C): readonly C[];
  /** Point-in-time recovery (capabilities.pitr): base backups plus a WAL archive. */
  readonly pitr?: PitrSupport<C>;
}

/** Like-for-like sizes for predicting a restore of today's data from a drill of an older snapshot. */
export interface SourceGrowth {
  /** The source now, e.g. bytes of table heaps and TOAST. */
  readonly currentBytes: number;
  /** The same measure when the snapshot was taken. */
  readonly snapshotBytes: number;
  /** What the bytes are, for the report: "table heap and TOAST bytes (pg_relation_size)". */
  readonly measure: string;
}
