// A table restore (options.selection): from the staged toc.dat, choose the
// entries the tables need (table-selection.ts) before the target server is
// touched, so a refusal creates nothing; fetch and verify only those tables'
// data files (never another table's); load the chosen entries with one
// `pg_restore --use-list`; verify the tables' own fingerprint keys. The
// guards, the `_lifeboat_partial_` database and the rename stay in restore.ts.

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LifeboatError } from "../../errors.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { ArtifactSource, PartialRestoreSummary, RestoreSelection, VerifyScope } from "../engine.ts";
import { dumpPrefix } from "./capture.ts";
import { forEachConcurrently, stageFile, type StagedToc } from "./staging.ts";
import { selectTables, type TableSelectionPlan } from "./table-selection.ts";
import { parseToc } from "./toc-file.ts";

/** Read the staged toc.dat and choose what to restore; throws BAD_ARGUMENT before anything is created. */
export async function planPartialRestore(
  staged: StagedToc,
  selection: RestoreSelection,
  log: Logger,
): Promise<TableSelectionPlan> {
  if (selection.include?.length || selection.exclude?.length) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      "a PostgreSQL snapshot is restored by --table/--schema, not by paths (--include/--exclude)",
    );
  }
  const toc = parseToc(await readFile(join(staged.dumpDir, "toc.dat")), `${dumpPrefix}toc.dat`);
  const plan = selectTables(toc.entries, selection);
  if (plan.viewsNotRestored.length > 0) {
    log.info(`not restored (views are never part of a table restore): ${plan.viewsNotRestored.join(", ")}`);
  }
  return plan;
}

export interface PartialLoad {
  readonly plan: TableSelectionPlan;
  readonly artifacts: ArtifactSource;
  readonly staged: StagedToc;
  readonly jobs: number;
  readonly signal?: AbortSignal;
  /** Run pg_restore with these extra arguments on `dir`; throws on failure. */
  readonly pgRestore: (
    args: readonly string[],
    dir: string,
    signal: AbortSignal | undefined,
  ) => Promise<void>;
}

/** Stage (and verify) the chosen tables' data files, then restore exactly the chosen entries. */
export async function loadPartial(load: PartialLoad): Promise<void> {
  const { plan, staged } = load;
  const available = new Set(load.artifacts.artifacts.map((artifact) => artifact.name));
  for (const file of plan.dataFiles) {
    if (!available.has(dumpPrefix + file)) {
      throw new LifeboatError(
        "OBJECT_MISSING",
        `the snapshot has no ${dumpPrefix}${file}, the data of a chosen table`,
      );
    }
  }
  await forEachConcurrently(plan.dataFiles, 2, async (file) => {
    load.signal?.throwIfAborted();
    await stageFile(load.artifacts, dumpPrefix + file, join(staged.dumpDir, file));
  });
  const list = join(staged.stagingDir, "partial-list.txt");
  await writeFile(list, plan.entries.map((entry) => `${entry.dumpId}\n`).join(""));
  await load.pgRestore(
    [`--use-list=${list}`, `--jobs=${Math.max(1, load.jobs)}`],
    staged.dumpDir,
    load.signal,
  );
}

/** Verification covers exactly the chosen tables' row counts and content hashes. */
export function partialScope(plan: TableSelectionPlan): VerifyScope {
  const keys = new Set(plan.tables.flatMap((table) => [`rows:${table}`, `content:${table}`]));
  return { covers: (key) => keys.has(key) };
}

export function partialSummary(plan: TableSelectionPlan): PartialRestoreSummary {
  return { tables: plan.tables, dependencies: plan.dependencies, leftOut: plan.leftOut };
}
