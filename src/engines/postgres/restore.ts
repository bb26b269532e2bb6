// Restore: stage and verify toc.dat (and globals), then touch the target
// server: guard against a non-empty target, apply globals if asked, restore
// into a `_lifeboat_partial_` database with pg_restore while the data files
// are still being fetched and verified (data-load.ts), and rename it into
// place only when every pg_restore run succeeded and every artifact verified.
// A failure drops the partial database; a kill leaves one whose name says it
// is incomplete, dropped by the next restore into the same target. A table
// restore (options.selection) takes the same path, with its entries chosen
// from toc.dat before the server is touched and loaded by partial-restore.ts.

import { availableParallelism } from "node:os";
import type pg from "pg";
import { LifeboatError } from "../../errors.ts";
import { toolFailure } from "../../runtime/process.ts";
import type { EngineContext, PartialRestoreSummary, RestoreInput, RestoreOptions } from "../engine.ts";
import {
  describeLocation,
  parsePostgresUrl,
  toolConnection,
  withDatabase,
  type PgLocation,
} from "./connection.ts";
import { loadPartial, partialScope, partialSummary, planPartialRestore } from "./partial-restore.ts";
import { readServerInfo } from "./server-info.ts";
import { defaultLoadTuning, loadInPhases, type LoadTuning } from "./data-load.ts";
import { stageAll, stageToc, type StagedToc } from "./staging.ts";
import type { TableSelectionPlan } from "./table-selection.ts";
import { moveDatabaseAside } from "./preserve.ts";
import { makeTablesUnlogged, mayLoadUnlogged } from "./unlogged-load.ts";
import {
  connectMaintenance,
  createDatabase,
  dropDatabase,
  dropStalePartials,
  partialName,
  readDatabaseState,
  renameDatabase,
} from "./target.ts";

export async function restore(
  input: RestoreInput,
  target: string,
  options: RestoreOptions,
  context: EngineContext,
  /** `false`: stage every file before pg_restore starts, in one run (the behaviour before pipelining). */
  tuning: LoadTuning | false = defaultLoadTuning,
): Promise<PartialRestoreSummary | void> {
  const location = parsePostgresUrl(target, "target");
  const where = describeLocation(location);
  const staged = await stageToc(input.artifacts, context.tempDir, options.globals === true);
  // A table restore chooses its entries from toc.dat now: a refusal happens before the server is touched.
  const selected = options.selection
    ? await planPartialRestore(staged, options.selection, context.log)
    : undefined;
  if (tuning === false && !selected) await stageAll(input.artifacts, staged, context.signal);
  // toc.dat is fetched and verified: from here on the time is the service's own
  // restore, with the data files fetched and verified alongside it.
  context.signal?.throwIfAborted();
  context.onPhase?.("restore");
  if (options.globals && !staged.globalsFile) {
    context.log.warn(
      "the snapshot has no globals (it was captured with globals: false); roles are not restored",
    );
  }

  const maintenance = await connectMaintenance(location, "TARGET_UNREACHABLE");
  try {
    await refuseNonEmpty(maintenance, location, options);
    if (selected && options.clean) {
      // A table restore builds a new database of just those tables; said plainly, as it drops the rest.
      context.log.warn(
        `--clean with --table: ${where} is replaced by a database holding only ${selected.tables.join(", ")}`,
      );
    }
    await dropStalePartials(maintenance, location.database, context.log);
    if (staged.globalsFile) {
      await applyGlobals(
        withDatabase(location, maintenance.database ?? "postgres"),
        staged.globalsFile,
        context,
      );
    }

    const before = await readDatabaseState(maintenance, location, "TARGET_UNREACHABLE");
    context.signal?.throwIfAborted();
    const partial = partialName(location.database);
    await createDatabase(
      maintenance,
      partial,
      {
        encoding: stringMeta(input.engineMeta.encoding),
        collate: stringMeta(input.engineMeta.lc_collate),
        ctype: stringMeta(input.engineMeta.lc_ctype),
        // An existing empty database was set up by someone: keep its owner.
        owner: before.exists ? before.owner : undefined,
      },
      context.log,
    );
    try {
      const keepOwners = staged.globalsFile !== undefined || (await sameCluster(maintenance, input));
      if (!keepOwners) {
        context.log.info(
          "restoring without ownership and privileges (--no-owner --no-privileges): the target is another server and globals were not restored",
        );
      }
      await runPgRestore(
        withDatabase(location, partial),
        staged,
        input,
        keepOwners,
        options,
        context,
        tuning,
        selected,
      );
      // The caller's fingerprint check runs on the complete partial database, before anything is dropped.
      await input.verify?.(urlForDatabase(target, partial), selected ? partialScope(selected) : undefined);
      // Interrupted after pg_restore finished: still stop, so an old target is never dropped late.
      context.signal?.throwIfAborted();
      // Re-check at the last moment: someone may have filled the target meanwhile.
      await refuseNonEmpty(maintenance, location, options);
      if (selected && options.clean) {
        // A table restore builds a new database of just those tables; said plainly, as it drops the rest.
        context.log.warn(
          `--clean with --table: ${where} is replaced by a database holding only ${selected.tables.join(", ")}`,
        );
      }
      await replaceWith(maintenance, location, partial, options);
    } catch (error) {
      await dropDatabase(maintenance, partial).catch((dropError: Error) =>
        context.log.warn(`could not drop the partial database ${partial}: ${dropError.message}`),
      );
      throw error;
    }
    context.log.info(
      selected ? `restored ${selected.tables.join(", ")} into ${where}` : `restored into ${where}`,
    );
    return selected ? partialSummary(selected) : undefined;
  } finally {
    await maintenance.end().catch(() => {});
  }
}

/**
 * The verified partial database takes the target's name. A target with data
 * in it is kept under `<name>_pre_restore_<stamp>` when options.preserve asks
 * (the default of `lifeboat restore`), dropped otherwise.
 */
async function replaceWith(
  maintenance: pg.Client,
  location: PgLocation,
  partial: string,
  options: RestoreOptions,
): Promise<void> {
  const state = await readDatabaseState(maintenance, location, "TARGET_UNREACHABLE");
  if (state.exists && state.objects > 0 && options.preserve) {
    const aside = await moveDatabaseAside(
      maintenance,
      location.database,
      options.preserve.stamp,
      "pre_restore",
    );
    options.preserve.kept({ kind: "database", location: aside });
  } else {
    await dropDatabase(maintenance, location.database);
  }
  await renameDatabase(maintenance, partial, location.database);
}

async function refuseNonEmpty(maintenance: pg.Client, location: PgLocation, options: RestoreOptions) {
  const state = await readDatabaseState(maintenance, location, "TARGET_UNREACHABLE");
  if (state.exists && state.objects > 0 && !options.clean) {
    throw new LifeboatError(
      "TARGET_NOT_EMPTY",
      `database ${describeLocation(location)} is not empty (${state.tables} tables, ${state.objects} objects)`,
      { details: { target: describeLocation(location), tables: state.tables, objects: state.objects } },
    );
  }
}

/** Owners and grants are restored when the roles certainly exist: same cluster, or globals just applied. */
async function sameCluster(maintenance: pg.Client, input: RestoreInput): Promise<boolean> {
  const sourceId = input.engineMeta.system_identifier;
  if (typeof sourceId !== "string") return false;
  const server = await readServerInfo(maintenance);
  return server.systemIdentifier === sourceId;
}

/**
 * pg_restore into the partial database: in phases while the data files are
 * fetched (data-load.ts), or in one run over a fully staged dump.
 */
async function runPgRestore(
  location: PgLocation,
  staged: StagedToc,
  input: RestoreInput,
  keepOwners: boolean,
  options: RestoreOptions,
  context: EngineContext,
  tuning: LoadTuning | false,
  selected: TableSelectionPlan | undefined,
): Promise<void> {
  const connection = toolConnection(location);
  const jobs = options.jobs ?? Math.min(4, availableParallelism());
  const common = [
    "--format=directory",
    "--no-password",
    "--exit-on-error",
    ...(keepOwners ? [] : ["--no-owner", "--no-privileges"]),
    ...connection.args,
  ];
  const pgRestore = async (extra: readonly string[], dir: string, signal: AbortSignal | undefined) => {
    const args = [...extra, ...common, dir];
    context.log.debug(`pg_restore ${args.join(" ")}`);
    const result = await context.runner.run("pg_restore", args, {
      env: connection.env,
      ...(signal ? { signal } : {}),
    });
    // Stopped on purpose (an interruption, a damaged artifact): report that, not a pg_restore failure.
    if (!result.ok) signal?.throwIfAborted();
    if (!result.ok) throw toolFailure(result, `restoring into ${describeLocation(location)}`);
  };
  if (selected) {
    const signal = context.signal;
    return loadPartial({
      plan: selected,
      artifacts: input.artifacts,
      staged,
      jobs,
      pgRestore,
      ...(signal ? { signal } : {}),
    });
  }
  if (tuning === false) return pgRestore([`--jobs=${jobs}`], staged.dumpDir, context.signal);

  await loadInPhases({
    artifacts: input.artifacts,
    staged,
    jobs,
    tuning,
    log: context.log,
    ...(mayLoadUnlogged(location) ? { afterPreData: () => makeTablesUnlogged(location, context.log) } : {}),
    ...(context.signal ? { signal: context.signal } : {}),
    pgRestore,
    listIds: async () => {
      const listed = await context.runner.run("pg_restore", ["--list", staged.dumpDir], {
        ...(context.signal ? { signal: context.signal } : {}),
      });
      if (!listed.ok) context.signal?.throwIfAborted();
      if (!listed.ok) throw toolFailure(listed, `reading the dump's table of contents`);
      return [...listed.stdout.matchAll(/^(\d+);/gm)].map((match) => Number(match[1]));
    },
  });
}

/**
 * Replay pg_dumpall's globals. Roles that already exist fail harmlessly
 * ("already exists"), so errors do not stop the script; any other error is
 * reported as a warning, because the data restore can still succeed.
 */
async function applyGlobals(location: PgLocation, file: string, context: EngineContext): Promise<void> {
  const connection = toolConnection(location);
  const args = ["-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=0", `--file=${file}`, ...connection.args];
  const result = await context.runner.run("psql", args, { env: connection.env, signal: context.signal });
  if (!result.ok) context.signal?.throwIfAborted();
  if (!result.ok) throw toolFailure(result, `applying globals to ${describeLocation(location)}`);
  const failures = result.stderr
    .split("\n")
    .filter((line) => /\b(ERROR|FATAL):/.test(line) && !/already exists/.test(line));
  for (const line of failures) context.log.warn(`globals: ${line.replace(/^psql:[^:]*:\d+:\s*/, "")}`);
}

/** The target URL naming another database on the same server (keeping credentials and parameters). */
function urlForDatabase(target: string, database: string): string {
  const url = new URL(target);
  url.pathname = "/" + encodeURIComponent(database);
  url.searchParams.delete("dbname");
  return url.href;
}

function stringMeta(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
