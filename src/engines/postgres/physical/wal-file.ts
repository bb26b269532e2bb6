// Which cluster a WAL file belongs to, read from the file itself: every
// segment starts with a long page header carrying the system identifier
// (xlp_sysid, after the 24-byte standard header; XLogLongPageHeaderData in
// PostgreSQL's xlog_internal.h). History and backup history files carry
// none, so for them the identifier comes from the data directory the
// archiver runs in (archive_command runs there): the first 8 bytes of
// global/pg_control. PostgreSQL writes both in the server's byte order;
// Lifeboat reads little-endian, the order of every platform it supports.

import { open, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseWalFileName } from "../../../domain/wal.ts";
import { LifeboatError } from "../../../errors.ts";

const XLP_LONG_HEADER = 0x0002;
const LONG_HEADER_BYTES = 40;

export async function systemIdOfWalFile(
  path: string,
  name: string,
  cwd: string = process.cwd(),
): Promise<string> {
  const kind = parseWalFileName(name)?.kind;
  if (kind === "segment" || kind === "partial") {
    const head = Buffer.alloc(LONG_HEADER_BYTES);
    const handle = await open(path, "r");
    try {
      const { bytesRead } = await handle.read(head, 0, LONG_HEADER_BYTES, 0);
      if (bytesRead === LONG_HEADER_BYTES && (head.readUInt16LE(2) & XLP_LONG_HEADER) !== 0) {
        return head.readBigUInt64LE(24).toString();
      }
    } finally {
      await handle.close();
    }
    throw new LifeboatError("BAD_ARGUMENT", `${path} does not start with a WAL segment's long page header`);
  }
  return systemIdOfDataDir(cwd, name);
}

export async function systemIdOfDataDir(dir: string, forFile?: string): Promise<string> {
  let control: Buffer;
  try {
    control = await readFile(join(dir, "global", "pg_control"));
  } catch (error) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `${forFile ? `${forFile} carries no system identifier and ` : ""}${dir} is not a data directory (no global/pg_control)`,
      {
        cause: error,
        hint: "archive_command runs in the data directory; run wal-push from there, or pass --system-id.",
      },
    );
  }
  return control.readBigUInt64LE(0).toString();
}

/**
 * The WAL files PostgreSQL has finished and waits to archive: its archiver
 * marks each with pg_wal/archive_status/<name>.ready and renames that to
 * .done once archive_command succeeded. `walDir` is the folder of %p.
 */
export async function readyWalFiles(walDir: string): Promise<string[]> {
  const names = await readdir(join(walDir, "archive_status")).catch(() => [] as string[]);
  return names
    .filter((name) => name.endsWith(".ready"))
    .map((name) => name.slice(0, -".ready".length))
    .filter((name) => parseWalFileName(name) !== undefined)
    .sort(archiveOrder);
}

/** History files first (a new timeline must be visible before its segments), then by name, as PostgreSQL's archiver. */
function archiveOrder(a: string, b: string): number {
  const rank = (name: string) => (name.endsWith(".history") ? 0 : 1);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}
