// The mariadb connector, loaded on first use: every command loads every
// engine's definition (the config schema is built from them), and the
// connector alone costs about 65 ms and 30 MB of memory to load, which a
// `wal-push` or a `status` of a PostgreSQL-only setup should never pay.

import type * as Connector from "mariadb";

let connector: Promise<typeof Connector> | undefined;

export function loadMariadbConnector(): Promise<typeof Connector> {
  connector ??= import("mariadb");
  return connector;
}
