// The sqlite engine: SQLite's online backup API for capture, an atomic
// verified file swap for restore. See docs in the files it wires together.

import { totalSize } from "../../domain/snapshot.ts";
import type { Engine } from "../engine.ts";
import { checkLocalPath } from "../local-target.ts";
import { captureSqlite } from "./capture.ts";
import { sqliteSourceSchema, type SqliteSourceConfig } from "./config.ts";
import { provisionSqliteScratch, querySqliteScalar, sqliteSourceSize } from "./drill.ts";
import { describeSqliteSnapshot } from "./describe.ts";
import { restoreSqliteTables } from "./partial-restore.ts";
import { restoreSqlite, sideFileSuffixes } from "./restore.ts";
import { dropPreservedPath, swapBackPath } from "../preserved-paths.ts";
import { fingerprintSqliteTarget, inspectSqliteTarget, isSameSqliteFile } from "./target.ts";

export const sqliteEngine: Engine<SqliteSourceConfig> = {
  name: "sqlite",
  summary: "one SQLite database file: the online backup API, restored by an atomic verified swap",
  configSchema: sqliteSourceSchema,
  pathFields: ["path"],
  restoreFlags: [
    { name: "force", description: "replace an existing database file", replacesTarget: true },
    // Accepted as well: `--clean` reads naturally for a database, and scripts used it.
    { name: "clean", description: "the same as --force for a SQLite file", replacesTarget: true },
  ],
  capabilities: {
    atomicSwap: true,
    sqlChecks: true,
    contentHashes: true,
    pitr: false,
    partialRestore: ["tables"],
    scratch: ["directory"],
    preservesReplaced: true,
  },
  checkTarget: (target) =>
    checkLocalPath(target, "sqlite", "the path of a database file", "/var/restore/app.db"),
  capture: captureSqlite,
  inspectTarget: (target) => inspectSqliteTarget(target),
  // Chosen tables: a new file holding only them (partial-restore.ts), with the same guards and swap.
  swapBack: (target, copy, aside) => swapBackPath(target, copy, aside, sideFileSuffixes),
  dropPreserved: (target, copy) => dropPreservedPath(target, copy, sideFileSuffixes),
  restore: (input, target, options, context) =>
    options.selection
      ? restoreSqliteTables(input, target, options.selection, options, context)
      : restoreSqlite(input, target, options, context),
  describeSnapshot: async (snapshot) => describeSqliteSnapshot(snapshot),
  fingerprint: (target, _context, options) => fingerprintSqliteTarget(target, options),
  identifyTarget: async (source, target) =>
    (await isSameSqliteFile(source.path, target))
      ? { verdict: "same", reason: "the same file (same device and inode, or the same canonical path)" }
      : { verdict: "different", reason: "another file" },
  provisionScratch: (source, request) => provisionSqliteScratch(source, request),
  queryScalar: (target, sql) => querySqliteScalar(target, sql),
  // The artifact is the database file itself, so its size and the file's are the same kind of bytes.
  estimateCaptureBytes: (source) => sqliteSourceSize(source),
  sourceGrowth: async (source, snapshot) => {
    const currentBytes = await sqliteSourceSize(source);
    const snapshotBytes = totalSize(snapshot);
    if (currentBytes === undefined || snapshotBytes <= 0) return undefined;
    return { currentBytes, snapshotBytes, measure: "database file bytes" };
  },
};
