// A throwaway MariaDB server for the engine's tests: the engine's own
// local-server (mariadb-install-db into a temp dir, mariadbd on a free
// loopback port, root without a password), plus a small SQL helper. Never
// the machine's own service on 3306.

import * as mariadb from "mariadb";
import { startLocalMariadb, type LocalMariadb } from "../../src/engines/mariadb/local-server.ts";

export interface TestMariadb extends LocalMariadb {
  /** Run statements (one per call, or several separated by `;` with multipleStatements) as root. */
  sql<T = Record<string, unknown>>(
    query: string,
    values?: readonly unknown[],
    database?: string,
  ): Promise<T[]>;
  /** A connection of its own (for concurrent writers), as root. */
  connect(database?: string): Promise<mariadb.Connection>;
}

export async function startMariadbServer(): Promise<TestMariadb> {
  const server = await startLocalMariadb();
  const connect = (database?: string) =>
    mariadb.createConnection({
      host: "127.0.0.1",
      port: server.port,
      user: "root",
      ...(database ? { database } : {}),
      multipleStatements: true,
      bigIntAsNumber: true,
    });
  return {
    ...server,
    connect,
    async sql<T>(query: string, values: readonly unknown[] = [], database?: string): Promise<T[]> {
      const connection = await connect(database);
      try {
        const result = (await connection.query(query, values)) as T[];
        return Array.isArray(result) ? Array.from(result) : [];
      } finally {
        await connection.end();
      }
    },
  };
}
