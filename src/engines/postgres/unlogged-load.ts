// Loading into a throwaway drill cluster without WAL. Lifeboat owns that
// server and drops it after the drill, so durability buys nothing there: once
// pg_restore's pre-data section has created the (still empty) tables, each
// is switched to UNLOGGED, and the COPYs and index builds that follow write
// no WAL at all. The data, the fingerprint and every check see the same rows.
// Databases with partitioned tables are left as they are: a partitioned
// parent stays permanent, and a foreign key from it to an unlogged table is
// refused. Only ever for a target on a throwaway cluster's socket.

import type { Logger } from "../../runtime/logger.ts";
import { withClient, type PgLocation } from "./connection.ts";
import { isThrowawaySocket } from "./local-cluster.ts";

/** Whether a restore into `location` may load unlogged: a throwaway drill cluster of this process. */
export function mayLoadUnlogged(location: PgLocation): boolean {
  return isThrowawaySocket(location.host);
}

/** Switch every table of the (just created, empty) database to UNLOGGED; returns how many. */
export async function makeTablesUnlogged(location: PgLocation, log: Logger): Promise<number> {
  return withClient(location, "TARGET_UNREACHABLE", async (client) => {
    const partitioned = await client.query("SELECT 1 FROM pg_class WHERE relkind = 'p' LIMIT 1");
    if ((partitioned.rowCount ?? 0) > 0) {
      log.debug("the dump has partitioned tables: loading it logged");
      return 0;
    }
    const tables = await client.query<{ name: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND c.relpersistence = 'p'
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`,
    );
    for (const { name } of tables.rows) await client.query(`ALTER TABLE ${name} SET UNLOGGED`);
    log.debug(`loading ${tables.rows.length} table(s) unlogged on the throwaway cluster`);
    return tables.rows.length;
  });
}
