// Drill support for SQLite: scratch files, SQL assertions, source size.

import { stat } from "node:fs/promises";
import { DatabaseSync } from "node:sqlite";
import type { SqliteSourceConfig } from "./config.ts";
import { LifeboatError } from "../../errors.ts";
import type { ScratchRequest, ScratchTarget } from "../engine.ts";
import { provisionLocalScratch } from "../local-scratch.ts";

export function provisionSqliteScratch(
  source: SqliteSourceConfig,
  request: ScratchRequest,
): Promise<ScratchTarget> {
  return provisionLocalScratch(source.path, false, request, "restored.db", "sqlite", ["SQLITE_PATH"]);
}

/** First column of the first row of a user's query, run read-only. */
export async function querySqliteScalar(target: string, sql: string): Promise<unknown> {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(target, { readOnly: true });
    const row = db.prepare(sql).get() as Record<string, unknown> | undefined;
    return row === undefined ? null : Object.values(row)[0];
  } catch (error) {
    throw new LifeboatError(
      "VERIFICATION_FAILED",
      `SQL check failed on ${target}: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    db?.close();
  }
}

export async function sqliteSourceSize(source: SqliteSourceConfig): Promise<number | undefined> {
  try {
    return (await stat(source.path)).size;
  } catch {
    return undefined;
  }
}
