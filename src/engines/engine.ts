// One interface for every kind of source. Engines use the service's own tools
// for the byte-level work (pg_dump, SQLite's backup API, tar) and never import
// the repository: they write to an ArtifactSink and read from an
// ArtifactSource, which the repository layer implements.

import type { Readable } from "node:stream";
import type { Fingerprint } from "../domain/fingerprint.ts";
import type { ArtifactRef, EngineName } from "../domain/snapshot.ts";
import type { SourceConfig } from "../config/schema.ts";
import type { Logger } from "../runtime/logger.ts";
import type { ProcessRunner } from "../runtime/process.ts";

/** Where a capture writes its artifacts: chunked, deduplicated, encrypted by the repository. */
export interface ArtifactSink {
  /** Consume the whole stream as one named artifact. Rejects if the stream errors. */
  write(name: string, data: Readable | AsyncIterable<Uint8Array>): Promise<ArtifactRef>;
  /** Observe bytes as they are stored (progress bars). */
  onProgress?: (bytes: number) => void;
}

/**
 * Where a restore reads artifacts from. Every chunk is authenticated and
 * re-hashed as it is read; a damaged chunk makes the stream error with
 * CHECKSUM_MISMATCH / OBJECT_MISSING / OBJECT_TRUNCATED naming the object.
 */
export interface ArtifactSource {
  readonly artifacts: readonly ArtifactRef[];
  /** A verified stream of one artifact's plaintext (the whole-stream SHA-256 is checked at its end). */
  open(name: string): Readable;
  /** Write one artifact to a local file, fully verified before the promise resolves. */
  saveTo(name: string, path: string): Promise<void>;
}

export type RestorePhase = "fetch" | "restore";

export interface EngineContext {
  readonly runner: ProcessRunner;
  readonly log: Logger;
  /** A private scratch directory for spooling; the caller removes it afterwards. */
  readonly tempDir: string;
  readonly signal?: AbortSignal;
  /** Called when a restore moves from fetching artifacts to the service's own restore; drills time each phase. */
  readonly onPhase?: (phase: RestorePhase) => void;
}

/** Where a drill's scratch target should live, from the source's `drill:` config. */
export interface ScratchRequest {
  /** A configured scratch server (postgres URL) or directory (sqlite/files); absent: the engine picks a throwaway one. */
  readonly target?: { readonly url?: string; readonly path?: string };
  /** Permit a scratch target on the source's own server (never the source database itself). */
  readonly allowSourceServer: boolean;
  /** Unique label for names (databases, directories), so drills can run side by side. */
  readonly label: string;
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
}

export interface RestoreInput {
  readonly artifacts: ArtifactSource;
  readonly engineMeta: Readonly<Record<string, unknown>>;
}

/** What a restore would find at its target, for --dry-run and guards. */
export interface TargetState {
  readonly exists: boolean;
  readonly empty: boolean;
  /** Human-readable description, e.g. "database app_restored on 127.0.0.1:5432 (12 tables)". */
  readonly description: string;
}

export interface Engine<C extends SourceConfig = SourceConfig> {
  readonly name: EngineName;
  /** Stream the source's data into `sink` and fingerprint it at the same consistent point. */
  capture(source: C, sink: ArtifactSink, context: EngineContext): Promise<CaptureResult>;
  /** Inspect the target without changing it. */
  inspectTarget(target: string, context: EngineContext): Promise<TargetState>;
  /**
   * Restore into `target`. Guarantees: the target is refused when non-empty
   * without clean/force; nothing appears under the target's name (and nothing
   * there is replaced) until every artifact has been verified: data may be
   * loaded into a clearly named partial target meanwhile; an interrupted
   * restore leaves nothing that looks complete.
   */
  restore(
    input: RestoreInput,
    target: string,
    options: RestoreOptions,
    context: EngineContext,
  ): Promise<void>;
  /**
   * Fingerprint a restored target the same way capture fingerprints the source.
   * With options.contentHashes (asked for when the snapshot's fingerprint has
   * `content:` hashes) engines that support it also hash every table's contents.
   */
  fingerprint(target: string, context: EngineContext, options?: FingerprintOptions): Promise<Fingerprint>;
  /** True when `target` denotes the source itself (restoring there is refused). */
  isSameAsSource(source: C, target: string, context: EngineContext): Promise<boolean>;
  /**
   * Make a scratch target for a drill. Refuses (SCRATCH_ON_SOURCE) a target on
   * the source's own server or path unless request.allowSourceServer, and
   * never returns the source itself.
   */
  provisionScratch?(source: C, request: ScratchRequest, context: EngineContext): Promise<ScratchTarget>;
  /** Run a user's SQL assertion against a target; returns the first column of the first row. */
  queryScalar?(target: string, sql: string, context: EngineContext): Promise<unknown>;
  /** Current size of the source in bytes, for predicting the RTO; undefined when it cannot be measured. */
  sourceSize?(source: C, context: EngineContext): Promise<number | undefined>;
}
