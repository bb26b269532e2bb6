// Opening SQLite files without ever creating one. SQLite's default open mode
// creates a missing file, which would turn a typo in lifeboat.yaml into an
// empty "successful" backup; so we stat first and open read-only.

import { stat } from "node:fs/promises";
import { DatabaseSync } from "node:sqlite";
import { LifeboatError, type ErrorCode } from "../../errors.ts";

/**
 * Open an existing database file read-only. Fails with `code` (SOURCE_UNREACHABLE
 * or TARGET_UNREACHABLE) naming the path when it is missing, not a regular file,
 * unreadable or not a database.
 */
export async function openExistingReadOnly(
  path: string,
  code: ErrorCode,
  what: string,
): Promise<DatabaseSync> {
  try {
    const info = await stat(path);
    if (!info.isFile())
      throw new LifeboatError(code, `${what} ${path} is not a regular file`, { details: { path } });
  } catch (error) {
    if (error instanceof LifeboatError) throw error;
    throw new LifeboatError(code, `${what} ${path} cannot be read: ${(error as Error).message}`, {
      details: { path },
      cause: error,
    });
  }
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { readOnly: true, timeout: 5000 });
    // Opening is lazy about the header: read the schema now so "file is not a database" surfaces here.
    db.prepare("SELECT count(*) FROM sqlite_schema").get();
    return db;
  } catch (error) {
    db?.close();
    throw new LifeboatError(
      code,
      `${what} ${path} cannot be opened as a SQLite database: ${(error as Error).message}`,
      {
        details: { path },
        cause: error,
      },
    );
  }
}

/**
 * Open a private copy (our own backup file in the temp dir) with immutable=1:
 * no locks and no -wal/-shm files created next to it, so the bytes we
 * fingerprint are exactly the bytes we store.
 */
export function openPrivateCopy(path: string): DatabaseSync {
  const url = new URL("file:");
  url.pathname = path;
  url.searchParams.set("immutable", "1");
  return new DatabaseSync(url, { readOnly: true });
}
