// Capture a directory tree as one tar artifact (node-tar does the byte-level
// work). Entries come from our own sorted walk and time fields that change
// without the data changing are pinned, so an unchanged tree produces the
// same bytes and deduplicates in the repository.
//
// Not atomic: there is no filesystem snapshot, so a tree being written to
// while it is captured is archived best-effort, as tar would. Each file is
// read once and its stored content is exactly what the fingerprint hashes;
// a file that disappears or changes size between the walk and its read
// fails the capture loudly (SOURCE_TOOL_FAILED naming it) rather than
// storing a damaged entry; run the backup again.
//
// Kept: regular files (content, mode incl. setuid/sticky bits, mtime, owner),
// directories (also empty ones), symlinks as symlinks (never followed, even
// dangling or pointing outside the tree), hard links inside the tree (as tar
// hard links, restored as links). Skipped with a warning: sockets, FIFOs and
// devices. Names must be valid UTF-8.

import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { Pack, type WriteEntry } from "tar";
import type { FilesSourceConfig } from "../../config/schema.ts";
import { LifeboatError } from "../../errors.ts";
import type { ArtifactSink, CaptureResult, EngineContext } from "../engine.ts";
import { TarFingerprinter } from "./tar-fingerprint.ts";
import { walkTree } from "./walk.ts";

export const treeArtifact = "tree.tar";

/**
 * Reading a file updates its atime and chmod/chown its ctime; neither is
 * data, but tar's pax headers (used for long or non-ASCII names) would carry
 * them, and dev/ino/nlink, and break byte-identical archives. Pin them.
 */
function pinVolatileFields(entry: WriteEntry): void {
  const stats = entry.stat;
  if (!stats) return;
  Object.defineProperty(stats, "atime", { value: stats.mtime, configurable: true });
  Object.defineProperty(stats, "ctime", { value: stats.mtime, configurable: true });
  for (const field of ["dev", "ino", "nlink"]) {
    Object.defineProperty(stats, field, { value: undefined, configurable: true });
  }
}

async function assertDirectory(root: string): Promise<void> {
  const info = await stat(root).catch((error: Error) => {
    throw new LifeboatError(
      "SOURCE_UNREACHABLE",
      `source directory ${root} cannot be read: ${error.message}`,
      {
        details: { path: root },
        cause: error,
      },
    );
  });
  if (!info.isDirectory()) {
    throw new LifeboatError("SOURCE_UNREACHABLE", `source ${root} is not a directory`, {
      details: { path: root },
    });
  }
}

export async function captureFiles(
  source: FilesSourceConfig,
  sink: ArtifactSink,
  context: EngineContext,
): Promise<CaptureResult> {
  const root = resolve(source.path);
  await assertDirectory(root);
  // No filesystem snapshot: the capture start is the best honest bound on this machine's clock.
  const consistentAt = new Date().toISOString();
  const entries = await walkTree(root, ({ path, kind }) =>
    context.log.warn(
      `files: skipping ${kind} ${path} in ${root} (only files, directories and symlinks are kept)`,
    ),
  );

  const pack = new Pack({
    cwd: root,
    noDirRecurse: true,
    onWriteEntry: pinVolatileFields,
    onwarn: (code, message) => context.log.warn(`files: ${code}: ${String(message)}`),
  });
  // Pack.write takes a path; "." is the root, whose entry carries the root's own mode and mtime.
  for (const entry of entries) pack.write(entry.path === "" ? "." : entry.path);
  pack.end();

  const fingerprinter = new TarFingerprinter();
  async function* archive(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of pack) {
        fingerprinter.write(chunk);
        yield chunk;
      }
    } catch (error) {
      const failure = error as NodeJS.ErrnoException;
      throw new LifeboatError(
        "SOURCE_TOOL_FAILED",
        `archiving ${failure.path ?? root} failed: ${failure.message} (was the tree changed during the capture?)`,
        { details: { path: failure.path ?? root, code: failure.code }, cause: error },
      );
    }
  }
  try {
    await sink.write(treeArtifact, archive());
  } catch (error) {
    // Stop reading the tree. Entries already in flight still write into the destroyed pack;
    // those errors are consequences of the one being thrown, not news, and must not crash us.
    pack.on("error", () => {});
    pack.destroy();
    throw error;
  }
  const fingerprint = await fingerprinter.finish();
  return {
    consistentAt,
    engineMeta: { path: root, files: fingerprint.counts.files ?? 0 },
    fingerprint,
  };
}
