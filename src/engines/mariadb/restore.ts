// Restore one database: refuse a non-empty target (unless --clean), load the
// dump into `<target>_lifeboat_partial_<hex>` from the verified artifact
// stream with several mariadb sessions (parallel-load.ts), let the caller
// verify the complete partial, then swap its tables in with one RENAME TABLE
// and re-create the rest (swap.ts). A damaged artifact stops every session
// mid-load and drops the partial: the target was never touched. A kill leaves only the partial, whose
// name says what it is; the next restore into the same target drops it once
// its restore's server lock is free (target.ts).

import { availableParallelism } from "node:os";
import type * as mariadb from "mariadb";
import { LifeboatError, isLifeboatError } from "../../errors.ts";
import { toolFailure } from "../../runtime/process.ts";
import type {
  EngineContext,
  PreservedCopy,
  PreserveRequest,
  RestoreInput,
  RestoreOptions,
} from "../engine.ts";
import { dumpArtifact } from "./capture.ts";
import {
  connect,
  describeLocation,
  formatUrl,
  parseMariadbUrl,
  quoteIdent,
  withDatabase,
  type MariadbLocation,
} from "./connection.ts";
import { loadInSessions } from "./parallel-load.ts";
import { swapIntoPlace, swapTablesBack } from "./swap.ts";
import { firstFreeName, isPreservedName, preservedDatabaseName } from "../preserved-names.ts";
import {
  describeDatabase,
  dropStaleLeftovers,
  holdRestoreLock,
  readDatabaseState,
  workNames,
} from "./target.ts";
import { findTool, withDefaultsFile } from "./tools.ts";

type Charsets = Record<string, { charset: string; collation: string }>;

/** The one database of a snapshot; a snapshot of several databases cannot go into one target database. */
function capturedDatabase(meta: Readonly<Record<string, unknown>>): string {
  const databases = Array.isArray(meta.databases) ? (meta.databases as string[]) : [];
  if (meta.several === true || databases.length !== 1) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `this snapshot holds ${databases.length} databases (${databases.join(", ")}) in one dump; restoring it into one target database is not supported`,
      {
        hint: "Declare one source per database (url: mariadb://.../db) to restore them one by one, or load the dump by hand with `lifeboat restore ... --to` a file and the mariadb client.",
      },
    );
  }
  return databases[0]!;
}

export async function restoreMariadb(
  input: RestoreInput,
  target: string,
  options: RestoreOptions,
  context: EngineContext,
): Promise<void> {
  const location = parseMariadbUrl(target, "target");
  if (location.database === undefined)
    throw new LifeboatError("BAD_ARGUMENT", `the target ${target} names no database`);
  const database = location.database;
  const source = capturedDatabase(input.engineMeta);
  const charset = (input.engineMeta.charsets as Charsets | undefined)?.[source];
  const client = await findTool("client");
  const server = withDatabase(location, undefined);
  const connection = await connect(server, "TARGET_UNREACHABLE");
  const names = workNames(database);
  let keepPartial = false;
  try {
    await refuseNonEmpty(connection, location, options);
    await holdRestoreLock(connection, names);
    await dropStaleLeftovers(connection, database, context.log);
    context.signal?.throwIfAborted();
    const charsetClause = charset
      ? ` CHARACTER SET ${quoteIdent(charset.charset)} COLLATE ${quoteIdent(charset.collation)}`
      : "";
    await connection.query(`CREATE DATABASE ${quoteIdent(names.partial)}${charsetClause}`);
    try {
      context.onPhase?.("restore");
      await loadDump(input, client, withDatabase(location, names.partial), options, context);
      // The caller's fingerprint check runs on the complete partial database; nothing at the target changed yet.
      await input.verify?.(formatUrl(withDatabase(location, names.partial)));
      context.signal?.throwIfAborted();
      const before = await readDatabaseState(connection, database);
      const preserveAs =
        options.preserve && before.objects > 0
          ? await firstFreeName(
              preservedDatabaseName(database, options.preserve.stamp, "pre_restore", 64),
              async (name) => (await readDatabaseState(connection, name)).exists,
            )
          : undefined;
      await swapIntoPlace(
        connection,
        {
          partial: names.partial,
          old: names.old,
          target: database,
          charset,
          clean: options.clean === true,
          ...(preserveAs ? { preserveAs } : {}),
        },
        context.log,
      );
      if (preserveAs) {
        options.preserve!.kept({
          kind: "database",
          location: preserveAs,
          note: "the old database's tables; its views, routines, triggers and events were dropped",
        });
      }
    } catch (error) {
      keepPartial = isLifeboatError(error) && error.details.partial_kept === true;
      throw error;
    } finally {
      if (!keepPartial) {
        await connection
          .query(`DROP DATABASE IF EXISTS ${quoteIdent(names.partial)}`)
          .catch((error: Error) =>
            context.log.warn(`could not drop the partial database ${names.partial}: ${error.message}`),
          );
      }
    }
    context.log.info(`restored into ${describeLocation(location)}`);
  } finally {
    await connection.end().catch(() => connection.destroy());
  }
}

async function refuseNonEmpty(
  connection: mariadb.Connection,
  location: MariadbLocation,
  options: RestoreOptions,
) {
  const state = await readDatabaseState(connection, location.database!);
  if (state.exists && state.objects > 0 && !options.clean) {
    throw new LifeboatError(
      "TARGET_NOT_EMPTY",
      `${describeDatabase(location)} is not empty (${state.tables} tables, ${state.objects} objects)`,
      {
        details: { target: describeLocation(location), tables: state.tables, objects: state.objects },
        hint: "Restore into a new database name, or pass --clean to replace it (its old tables are dropped only after the new data verified).",
      },
    );
  }
}

/**
 * Feed the verified artifact stream to `jobs` mariadb sessions, a table per
 * session at a time, secondary keys built after each table's rows
 * (parallel-load.ts). A stream error (CHECKSUM_MISMATCH, OBJECT_MISSING, ...)
 * stops every session at once, so a damaged dump is never loaded to its end,
 * and is the error reported.
 */
async function loadDump(
  input: RestoreInput,
  client: string,
  partial: MariadbLocation,
  options: RestoreOptions,
  context: EngineContext,
): Promise<void> {
  await withDefaultsFile(
    withDatabase(partial, undefined),
    context.tempDir,
    "TARGET_UNREACHABLE",
    async (defaults) => {
      const args = [
        defaults.argument,
        "--batch",
        "--max-allowed-packet=1073741824",
        `--database=${partial.database}`,
      ];
      const summary = await loadInSessions({
        source: input.artifacts.open(dumpArtifact),
        tempDir: context.tempDir,
        jobs: options.jobs ?? Math.min(4, Math.max(2, availableParallelism())),
        stagedLimit: stagedLimitBytes,
        signal: context.signal,
        runSession: async (stdin, signal) => {
          const result = await context.runner.run(client, args, { stdin, signal });
          if (!result.ok) signal.throwIfAborted();
          if (!result.ok) throw toolFailure(result, `loading the dump into ${describeLocation(partial)}`);
        },
      });
      context.log.debug(
        `mariadb: loaded ${summary.sections} sections, then ${summary.tailBytes} bytes of routines, events and views`,
      );
    },
  );
}

/** How far the staged sections may run ahead of the sessions (a larger table is staged whole). */
const stagedLimitBytes = 512 * 1024 * 1024;

/** `preserved drop`: only a database a restore kept (`*_pre_restore_*`), never the target itself. */
export async function dropPreserved(target: string, copy: PreservedCopy): Promise<void> {
  const location = parseMariadbUrl(target, "target");
  if (!isPreservedName(copy.location) || copy.location === location.database) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `${copy.location} is not a database a restore kept: Lifeboat drops only *_pre_restore_* databases`,
    );
  }
  const connection = await connect(withDatabase(location, undefined), "TARGET_UNREACHABLE");
  try {
    await connection.query(`DROP DATABASE IF EXISTS ${quoteIdent(copy.location)}`);
  } finally {
    await connection.end().catch(() => connection.destroy());
  }
}

/** `restore --undo`: the kept tables back into the target; what is there now moves to `<db>_pre_undo_<stamp>`. */
export async function swapBack(target: string, copy: PreservedCopy, aside: PreserveRequest): Promise<void> {
  const location = parseMariadbUrl(target, "target");
  const database = location.database;
  if (database === undefined)
    throw new LifeboatError("BAD_ARGUMENT", `the target ${target} names no database`);
  const connection = await connect(withDatabase(location, undefined), "TARGET_UNREACHABLE");
  try {
    if (!(await readDatabaseState(connection, copy.location)).exists) {
      throw new LifeboatError(
        "PRESERVED_MISSING",
        `the kept database ${copy.location} is no longer on ${describeLocation(location)}: there is nothing to swap back`,
      );
    }
    const state = await readDatabaseState(connection, database);
    const moved =
      state.tables > 0
        ? await firstFreeName(
            preservedDatabaseName(database, aside.stamp, "pre_undo", 64),
            async (name) => (await readDatabaseState(connection, name)).exists,
          )
        : undefined;
    await swapTablesBack(connection, { target: database, kept: copy.location, aside: moved ?? "" });
    if (moved)
      aside.kept({
        kind: "database",
        location: moved,
        note: "the restored database's tables; its views, routines, triggers and events were dropped",
      });
  } finally {
    await connection.end().catch(() => connection.destroy());
  }
}
