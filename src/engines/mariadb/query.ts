// SQL checks of drills (`sql:`), run read-only against a restored database,
// and the source's size now and at capture, for the predicted RTO.

import { LifeboatError } from "../../errors.ts";
import type { EngineContext, SourceGrowth } from "../engine.ts";
import type { MariadbSourceConfig } from "./config.ts";
import { parseMariadbUrl, rows, sourceScope, withConnection, withDatabase } from "./connection.ts";
import { targetLocation } from "./fingerprint.ts";
import { listUserDatabases } from "./schema.ts";
import type * as mariadb from "mariadb";

/** First column of the first row of a user's query, in a read-only transaction that is rolled back. */
export async function queryScalar(target: string, sql: string, _context: EngineContext): Promise<unknown> {
  const location = targetLocation(target);
  return withConnection(location, "TARGET_UNREACHABLE", async (connection) => {
    await connection.query("START TRANSACTION READ ONLY");
    try {
      const found = await rows<Record<string, unknown>>(connection, sql);
      const first = found[0];
      return first === undefined ? null : (Object.values(first)[0] ?? null);
    } catch (error) {
      throw new LifeboatError(
        "VERIFICATION_FAILED",
        `SQL check failed on ${location.database}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    } finally {
      await connection.query("ROLLBACK").catch(() => {});
    }
  });
}

/** One statement that may write (a scenario's disruption or writer), committed (autocommit). */
export async function executeSql(target: string, sql: string, _context: EngineContext): Promise<void> {
  const location = targetLocation(target);
  await withConnection(location, "TARGET_UNREACHABLE", async (connection) => {
    try {
      await connection.query(sql);
    } catch (error) {
      throw new LifeboatError(
        "TARGET_UNREACHABLE",
        `SQL failed on ${location.database}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  });
}

/** Table data and index bytes of the databases (information_schema.TABLES; InnoDB's are estimates). */
export async function dataBytes(
  connection: mariadb.Connection,
  databases: readonly string[],
): Promise<number> {
  if (databases.length === 0) return 0;
  const [row] = await rows<{ bytes: number | string | null }>(
    connection,
    `SELECT SUM(DATA_LENGTH + INDEX_LENGTH) AS bytes FROM information_schema.TABLES
     WHERE TABLE_SCHEMA IN (${databases.map(() => "?").join(", ")})`,
    databases,
  );
  return Number(row?.bytes ?? 0);
}

export async function sourceGrowth(
  source: MariadbSourceConfig,
  engineMeta: Readonly<Record<string, unknown>>,
): Promise<SourceGrowth | undefined> {
  const snapshotBytes = Number(engineMeta.data_bytes);
  if (!Number.isFinite(snapshotBytes) || snapshotBytes <= 0) return undefined;
  try {
    const location = withDatabase(parseMariadbUrl(source.url, "source", source.password_env), undefined);
    const currentBytes = await withConnection(location, "SOURCE_UNREACHABLE", async (connection) =>
      dataBytes(connection, sourceScope(source).named ?? (await listUserDatabases(connection))),
    );
    return { currentBytes, snapshotBytes, measure: "table data and index bytes (information_schema.TABLES)" };
  } catch {
    return undefined;
  }
}
