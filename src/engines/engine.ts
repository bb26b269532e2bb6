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

export interface EngineContext {
  readonly runner: ProcessRunner;
  readonly log: Logger;
  /** A private scratch directory for spooling; the caller removes it afterwards. */
  readonly tempDir: string;
  readonly signal?: AbortSignal;
}

export interface CaptureResult {
  /** The consistent point on the source's own clock (ISO-8601). */
  readonly consistentAt: string;
  readonly engineMeta: Record<string, unknown>;
  /** Taken at the same consistent point as the data. */
  readonly fingerprint: Fingerprint;
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
   * without clean/force; until every artifact has been verified the target is
   * not touched; an interrupted restore leaves nothing that looks complete.
   */
  restore(input: RestoreInput, target: string, options: RestoreOptions, context: EngineContext): Promise<void>;
  /** Fingerprint a restored target the same way capture fingerprints the source. */
  fingerprint(target: string, context: EngineContext): Promise<Fingerprint>;
  /** True when `target` denotes the source itself (restoring there is refused). */
  isSameAsSource(source: C, target: string, context: EngineContext): Promise<boolean>;
}
