// The `mariadb` engine (MariaDB and MySQL): mariadb-dump in one consistent
// transaction, rows counted from the dump stream itself, restored into a
// partial database and moved in with one RENAME TABLE. See README.md here
// for the guarantees and the known limits.

import type { Engine } from "../engine.ts";
import { captureMariadb } from "./capture.ts";
import { mariadbSourceSchema, type MariadbSourceConfig } from "./config.ts";
import { formatUrl } from "./connection.ts";
import { fingerprintTarget, targetLocation } from "./fingerprint.ts";
import { identifyTarget } from "./identity.ts";
import { executeSql, queryScalar, sourceGrowth } from "./query.ts";
import { dropPreserved, restoreMariadb, swapBack } from "./restore.ts";
import { provisionScratch } from "./scratch.ts";
import { inspectTarget } from "./target.ts";

export const mariadbEngine: Engine<MariadbSourceConfig> = {
  name: "mariadb",
  summary:
    "MariaDB or MySQL databases: mariadb-dump in one consistent transaction, restored into a partial database and moved in with one RENAME TABLE",
  configSchema: mariadbSourceSchema,
  pathFields: [],
  restoreFlags: [
    {
      name: "clean",
      description:
        "replace a non-empty target database (its old tables are dropped only after the new data verified)",
      replacesTarget: true,
    },
  ],
  capabilities: {
    atomicSwap: false,
    sqlChecks: true,
    contentHashes: true,
    pitr: false,
    partialRestore: [],
    scratch: ["server-database", "throwaway-cluster"],
    preservesReplaced: true,
  },
  restoreGuarantee:
    "The dump is loaded into <target>_lifeboat_partial_<hex> and verified there; until then nothing at the target changed. All tables then move into the target in one atomic RENAME TABLE (with --clean, the old tables leave in the same statement for <target>_pre_restore_<stamp>, kept unless --no-preserve, after the target's old views, triggers, routines and events were dropped). Views, routines, triggers and events are re-created after the rename, so for a moment the target has its tables without them; a failure there keeps the partial database with their definitions.",
  checkTarget: (target) => formatUrl(targetLocation(target)),
  capture: captureMariadb,
  inspectTarget: (target) => inspectTarget(targetLocation(target)),
  restore: restoreMariadb,
  swapBack: (target, copy, aside) => swapBack(target, copy, aside),
  dropPreserved: (target, copy) => dropPreserved(target, copy),
  fingerprint: fingerprintTarget,
  identifyTarget,
  provisionScratch,
  queryScalar,
  executeSql,
  sourceGrowth: (source, snapshot) => sourceGrowth(source, snapshot.engineMeta),
};
