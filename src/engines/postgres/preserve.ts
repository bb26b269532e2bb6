// Keeping the database a restore replaces (issue 16): instead of being
// dropped it is renamed `<name>_pre_restore_<stamp>` on the same server, an
// instant catalog change however large it is. `restore --undo` renames it
// back (the restored database moves aside as `<name>_pre_undo_<stamp>`), and
// `preserved drop` drops one, only ever a database with such a name. A data
// directory a point-in-time restore replaced is a path, handled as files are.

import type pg from "pg";
import { LifeboatError } from "../../errors.ts";
import type { EngineContext, PreservedCopy, PreserveRequest } from "../engine.ts";
import {
  firstFreeName,
  isPreservedName,
  preservedDatabaseName,
  type PreserveMarker,
} from "../preserved-names.ts";
import { dropPreservedPath, swapBackPath } from "../preserved-paths.ts";
import { describeLocation, parsePostgresUrl, quoteIdent } from "./connection.ts";
import { connectMaintenance, dropDatabase, maxNameBytes, renameDatabase } from "./target.ts";

async function databaseExists(maintenance: pg.Client, name: string): Promise<boolean> {
  const found = await maintenance.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
  return found.rowCount !== null && found.rowCount > 0;
}

/** Sessions connected to a database block its rename, as they would its drop: replacing it means they go. */
async function endSessions(maintenance: pg.Client, name: string): Promise<void> {
  await maintenance.query(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    [name],
  );
}

/** Rename `name` aside under a free `<name>_<marker>_<stamp>`; returns the new name. */
export async function moveDatabaseAside(
  maintenance: pg.Client,
  name: string,
  stamp: string,
  marker: PreserveMarker,
): Promise<string> {
  const aside = await firstFreeName(preservedDatabaseName(name, stamp, marker, maxNameBytes), (candidate) =>
    databaseExists(maintenance, candidate),
  );
  await endSessions(maintenance, name);
  await renameDatabase(maintenance, name, aside);
  return aside;
}

export async function swapBack(
  target: string,
  copy: PreservedCopy,
  aside: PreserveRequest,
  _context: EngineContext,
): Promise<void> {
  // A data directory a point-in-time restore replaced (--force) is a path beside it.
  if (copy.kind === "path") return swapBackPath(target, copy, aside);
  const location = parsePostgresUrl(target, "target");
  const maintenance = await connectMaintenance(location, "TARGET_UNREACHABLE");
  try {
    if (!(await databaseExists(maintenance, copy.location))) {
      throw new LifeboatError(
        "PRESERVED_MISSING",
        `the kept database ${copy.location} is no longer on ${describeLocation(location)}: there is nothing to swap back`,
        {
          hint: "`lifeboat preserved` lists the copies still recorded; `lifeboat preserved drop ID` forgets one that is gone.",
        },
      );
    }
    if (await databaseExists(maintenance, location.database)) {
      const moved = await moveDatabaseAside(maintenance, location.database, aside.stamp, "pre_undo");
      aside.kept({ kind: "database", location: moved });
    }
    await endSessions(maintenance, copy.location);
    await renameDatabase(maintenance, copy.location, location.database);
  } finally {
    await maintenance.end().catch(() => {});
  }
}

export async function dropPreserved(
  target: string,
  copy: PreservedCopy,
  _context: EngineContext,
): Promise<void> {
  if (copy.kind === "path") return dropPreservedPath(target, copy);
  const location = parsePostgresUrl(target, "target");
  if (!isPreservedName(copy.location) || copy.location === location.database) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `${quoteIdent(copy.location)} is not a database a restore kept: Lifeboat drops only *_pre_restore_* and *_pre_undo_* databases`,
    );
  }
  const maintenance = await connectMaintenance(location, "TARGET_UNREACHABLE");
  try {
    await dropDatabase(maintenance, copy.location);
  } finally {
    await maintenance.end().catch(() => {});
  }
}
