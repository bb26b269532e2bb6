// Extract a tree.tar stream into an empty directory, faithfully and safely.
//
// node-tar writes files, directories and hard links. We keep its protections
// on and add our own guard: any entry whose path is absolute or contains ".."
// fails the restore (tar alone would strip or skip it silently, and a backup
// restored minus some files is not a restore). Symlinks are created by us
// after everything else: tar would rewrite absolute link targets and skip
// ones pointing outside the tree, but a restore must reproduce them as they
// were, and creating them last means no entry can be written through one.
// Finally exact modes (tar's are filtered by the umask and cleared of
// setuid bits by chown) and directory mtimes are applied, and everything is
// fsynced before the caller renames the directory into place.

import { chmod, lchown, lutimes, realpath, symlink, utimes } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { Unpack, type ReadEntry } from "tar";
import { LifeboatError } from "../../errors.ts";
import { fsyncPath } from "../../runtime/paths.ts";
import { normalizeArchivePath } from "./tar-fingerprint.ts";

interface ExtractedEntry {
  readonly path: string;
  readonly type: "file" | "dir" | "link";
  readonly mode: number;
  readonly mtime: Date | undefined;
}

interface PendingSymlink {
  readonly path: string;
  readonly target: string;
  readonly mtime: Date | undefined;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
}

/** Why an archive path may not be written below the target, or undefined when it is safe. */
export function unsafeArchivePath(path: string): string | undefined {
  if (path.startsWith("/") || /^[a-zA-Z]:/.test(path)) return "is absolute";
  if (path.split("/").includes("..")) return "contains '..'";
  return undefined;
}

/** Feed the stream to tar; on a stream error (e.g. CHECKSUM_MISMATCH) abort tar and rethrow that error. */
async function feed(stream: Readable, unpack: Unpack): Promise<void> {
  const finished = new Promise<void>((resolve, reject) => {
    unpack.on("close", () => resolve());
    unpack.on("error", reject);
  });
  finished.catch(() => {}); // observed below; avoid an unhandled rejection while still feeding
  try {
    for await (const chunk of stream) {
      if (!unpack.write(chunk as Buffer)) {
        await Promise.race([new Promise((resolve) => unpack.once("drain", resolve)), finished]);
      }
    }
  } catch (error) {
    unpack.abort(error as Error);
    throw error;
  }
  unpack.end();
  await finished;
}

export async function extractTree(
  stream: Readable,
  directory: string,
  onStreamed?: () => void,
): Promise<void> {
  const root = await realpath(directory);
  const entries: ExtractedEntry[] = [];
  const symlinks: PendingSymlink[] = [];
  const refused: string[] = [];
  const failures: string[] = [];
  const isRoot = process.getuid?.() === 0;

  const accept = (rawPath: string, entry: ReadEntry): boolean => {
    const path = normalizeArchivePath(rawPath);
    const unsafe =
      unsafeArchivePath(rawPath) ??
      (entry.type === "Link" ? unsafeArchivePath(entry.linkpath ?? "") : undefined);
    if (unsafe) {
      refused.push(`entry ${JSON.stringify(rawPath)} ${unsafe}`);
      return false;
    }
    // The archive may set the root's mode and mtime, but not make the root a file or a link.
    if (path === "" && entry.type !== "Directory") {
      refused.push(`a ${entry.type} entry names the root directory`);
      return false;
    }
    const mode = (entry.mode ?? 0) & 0o7777;
    switch (entry.type) {
      case "Directory":
        entries.push({ path, type: "dir", mode, mtime: entry.mtime });
        return true;
      case "File":
      case "OldFile":
      case "ContiguousFile":
        entries.push({ path, type: "file", mode, mtime: entry.mtime });
        return true;
      case "Link":
        entries.push({ path, type: "link", mode, mtime: entry.mtime });
        return true;
      case "SymbolicLink": {
        const { linkpath = "", mtime, uid, gid } = entry;
        symlinks.push({ path, target: linkpath, mtime, uid, gid });
        return false; // created after extraction, see the header comment
      }
      default:
        refused.push(`entry ${JSON.stringify(rawPath)} has unsupported type ${entry.type}`);
        return false;
    }
  };

  const unpack = new Unpack({
    cwd: root,
    filter: (path, entry) => accept(path, entry as ReadEntry),
    onwarn: (code, message, data) => {
      if (code === "TAR_ENTRY_INFO") return;
      const path = (data as { path?: string }).path;
      failures.push(`${code}: ${String(message)}${path ? ` (${path})` : ""}`);
    },
  });
  await feed(stream, unpack);
  onStreamed?.();

  if (refused.length > 0) {
    throw new LifeboatError(
      "VERIFICATION_FAILED",
      `the archive cannot be restored safely: ${refused.slice(0, 5).join("; ")}`,
      {
        details: { refused: refused.slice(0, 50) },
      },
    );
  }
  if (failures.length > 0) {
    throw new LifeboatError(
      "TARGET_UNREACHABLE",
      `writing the restored tree failed: ${failures.slice(0, 5).join("; ")}`,
      {
        details: { failures: failures.slice(0, 50) },
      },
    );
  }

  for (const link of symlinks) {
    const absolute = join(root, link.path);
    // Only real directories lie between root and the link: nothing can be created outside the root.
    if ((await realpath(dirname(absolute))) !== dirname(absolute)) {
      throw new LifeboatError(
        "VERIFICATION_FAILED",
        `the archive places symlink ${link.path} below another symlink`,
      );
    }
    await symlink(link.target, absolute);
    if (isRoot && link.uid !== undefined && link.gid !== undefined)
      await lchown(absolute, link.uid, link.gid);
    if (link.mtime) await lutimes(absolute, link.mtime, link.mtime);
  }

  for (const entry of entries) {
    if (entry.type !== "file") continue;
    const absolute = join(root, entry.path);
    await chmod(absolute, entry.mode);
    await fsyncPath(absolute);
  }
  // Deepest directories first: setting a child's times or mode must not disturb its parent afterwards.
  const directories = entries.filter((entry) => entry.type === "dir").reverse();
  for (const entry of directories) {
    const absolute = entry.path === "" ? root : join(root, entry.path);
    await chmod(absolute, entry.mode);
    await fsyncPath(absolute);
    if (entry.mtime) await utimes(absolute, entry.mtime, entry.mtime);
  }
  await fsyncPath(root);
}
