// Back up one source: the engine streams its data into a snapshot writer,
// and only when the capture succeeded is the manifest committed. A failed
// capture (pg_dump exiting non-zero after output, a vanished file) leaves
// chunks nobody references and no snapshot: never a fresh-looking success.

import type { SourceConfig } from "../engines/config.ts";
import { totalSize, type Snapshot } from "../domain/snapshot.ts";
import { LifeboatError } from "../errors.ts";
import type { WriteStats } from "../repository/types.ts";
import { lifeboatVersion } from "../version.ts";
import type { OperationContext } from "./context.ts";
import { withTempDir } from "./temp-dir.ts";
import { walFilesOf } from "./wal.ts";

export interface BackupResult {
  readonly source: string;
  readonly snapshot: Snapshot;
  readonly stats: WriteStats;
  readonly seconds: number;
}

export interface BackupOptions {
  /** Tags the snapshot carries (`--tag`): `forget --keep-tag` keeps them, and the tag `pin` keeps it always. */
  readonly tags?: readonly string[];
}

export async function backupSource(
  context: OperationContext,
  name: string,
  source: SourceConfig,
  options: BackupOptions = {},
): Promise<BackupResult> {
  const engine = context.engineFor(source.engine);
  const startedAt = context.now();
  const estimate = await estimateBytes(context, name, source);
  const writer = await context.repository.newSnapshotWriter();
  context.progress.start(`backup ${name}`, estimate);
  writer.onProgress = (bytes) => context.progress.advance(bytes);
  try {
    const capture = await withTempDir("backup", (tempDir) =>
      engine.capture(source, writer, {
        runner: context.runner,
        log: context.log,
        tempDir,
        ...(context.signal ? { signal: context.signal } : {}),
        ...(engine.pitr?.takesBaseBackups(source)
          ? { wal: (systemId: string) => walFilesOf(context.repository.walArchive(name, systemId)) }
          : {}),
      }),
    );
    const finishedAt = context.now();
    const snapshot = await writer.commit({
      source: name,
      engine: source.engine,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      consistentAt: capture.consistentAt,
      hostname: context.hostname,
      lifeboatVersion,
      engineMeta: capture.engineMeta,
      fingerprint: capture.fingerprint,
      tags: [...new Set(options.tags ?? [])].sort(),
    });
    return {
      source: name,
      snapshot,
      stats: writer.stats,
      seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    };
  } catch (error) {
    if (error instanceof LifeboatError) throw error;
    throw new LifeboatError("INTERNAL", `backup of ${name} failed: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    context.progress.stop();
  }
}

/** The captures one backup of `source` makes: one each of postgres `mode: both`, else the source itself. */
export function captureVariantsOf(context: OperationContext, source: SourceConfig): readonly SourceConfig[] {
  // The engine of `source` returns configs of its own engine: SourceConfig narrowed to it.
  const variants = context.engineFor(source.engine).captureVariants?.(source) as
    readonly SourceConfig[] | undefined;
  return variants && variants.length > 0 ? variants : [source];
}

/**
 * The size the progress bar counts towards, in the bytes it counts (artifact
 * plaintext): the source's last snapshot (sources change slowly between
 * backups), else the engine's own estimate (file engines), else none: the bar
 * then shows bytes and throughput only.
 */
async function estimateBytes(
  context: OperationContext,
  name: string,
  source: SourceConfig,
): Promise<number | undefined> {
  try {
    const last = (await context.repository.listSnapshots({ source: name })).at(-1);
    if (last && totalSize(last) > 0) return totalSize(last);
    const estimate = await context.engineFor(source.engine).estimateCaptureBytes?.(source);
    return estimate || undefined;
  } catch {
    return undefined; // an estimate never fails a backup
  }
}
