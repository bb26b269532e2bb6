// A server that a PITR restore started (by Lifeboat's --start or by pg_ctl
// after pgbackrest restore): reached over TCP on its port, stopped with
// `pg_ctl -m immediate` (it is thrown away) and its directory removed.

import { rm } from "node:fs/promises";
import { join } from "node:path";
import { connectionArgs, pgBin, runTool, stopClusterNow, type BenchCluster } from "./pg-cluster.ts";

export function restoredServer(name: string, dataDir: string, port: number): BenchCluster {
  let stopped = false;
  return {
    name,
    port,
    dataDir,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    psql: async (sql, database = "postgres") => {
      const outcome = await runTool(join(pgBin, "psql"), [
        ...connectionArgs(port),
        "-d",
        database,
        "-X",
        "-q",
        "-At",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        sql,
      ]);
      if (outcome.code !== 0)
        throw new Error(`psql on ${name} exited ${outcome.code}: ${outcome.stderr.trim()}`);
      return outcome.stdout.trim();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      stopClusterNow(dataDir);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
