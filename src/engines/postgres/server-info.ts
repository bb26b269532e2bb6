// Facts about a server and database that a snapshot records and that later
// decide things: the system identifier tells two clusters apart (is the
// target the source?), the encoding and locale recreate a compatible database.

import type pg from "pg";

export interface ServerInfo {
  readonly serverVersion: string;
  readonly serverVersionNum: number;
  /** pg_control_system().system_identifier; null when the role may not call it. */
  readonly systemIdentifier: string | null;
  readonly inRecovery: boolean;
}

export interface DatabaseInfo {
  readonly encoding: string;
  readonly collate: string;
  readonly ctype: string;
}

export async function readServerInfo(client: pg.Client): Promise<ServerInfo> {
  // EXECUTE is checked when the query is planned, whatever CASE surrounds the
  // call: ask first, and call pg_control_system() only when it is allowed.
  const allowed = await client.query<{ control: boolean }>(
    "SELECT has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE') AS control",
  );
  const systemIdentifier = allowed.rows[0]?.control
    ? "(SELECT system_identifier::text FROM pg_catalog.pg_control_system())"
    : "NULL::text";
  const result = await client.query<{
    server_version: string;
    server_version_num: string;
    system_identifier: string | null;
    in_recovery: boolean;
  }>(`
    SELECT current_setting('server_version') AS server_version,
           current_setting('server_version_num') AS server_version_num,
           ${systemIdentifier} AS system_identifier,
           pg_is_in_recovery() AS in_recovery`);
  const row = result.rows[0];
  if (!row) throw new Error("the server returned no version row");
  return {
    serverVersion: row.server_version,
    serverVersionNum: Number(row.server_version_num),
    systemIdentifier: row.system_identifier,
    inRecovery: row.in_recovery,
  };
}

export async function readDatabaseInfo(client: pg.Client): Promise<DatabaseInfo> {
  const result = await client.query<DatabaseInfo>(`
    SELECT pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype
    FROM pg_database WHERE datname = current_database()`);
  const row = result.rows[0];
  if (!row) throw new Error("the current database is missing from pg_database");
  return row;
}
