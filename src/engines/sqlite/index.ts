// The sqlite engine: SQLite's online backup API for capture, an atomic
// verified file swap for restore. See docs in the files it wires together.

import type { SqliteSourceConfig } from "../../config/schema.ts";
import type { Engine } from "../engine.ts";
import { captureSqlite } from "./capture.ts";
import { provisionSqliteScratch, querySqliteScalar, sqliteSourceSize } from "./drill.ts";
import { restoreSqlite } from "./restore.ts";
import { fingerprintSqliteTarget, inspectSqliteTarget, isSameSqliteFile } from "./target.ts";

export const sqliteEngine: Engine<SqliteSourceConfig> = {
  name: "sqlite",
  capture: captureSqlite,
  inspectTarget: (target) => inspectSqliteTarget(target),
  restore: restoreSqlite,
  fingerprint: (target, _context, options) => fingerprintSqliteTarget(target, options),
  isSameAsSource: (source, target) => isSameSqliteFile(source.path, target),
  provisionScratch: (source, request) => provisionSqliteScratch(source, request),
  queryScalar: (target, sql) => querySqliteScalar(target, sql),
  sourceSize: (source) => sqliteSourceSize(source),
};
