// The `postgres` engine: logical backups of one database with pg_dump's
// directory format, restored in parallel with pg_restore. See README.md in
// this folder for the guarantees and the known limits.

import type { Fingerprint } from "../../domain/fingerprint.ts";
import { LifeboatError } from "../../errors.ts";
import type { Engine, FingerprintOptions } from "../engine.ts";
import { capture } from "./capture.ts";
import { capturePhysical } from "./physical/base-backup.ts";
import { postgresPitr } from "./physical/pitr-support.ts";
import { postgresModeOf, postgresSourceSchema, type PostgresSourceConfig } from "./config.ts";
import { describeLocation, parsePostgresUrl, withClient } from "./connection.ts";
import { describeSnapshot } from "./describe.ts";
import { readFingerprint } from "./fingerprint.ts";
import { identifyTarget } from "./identity.ts";
import { executeSql, queryScalar, sourceGrowth } from "./query.ts";
import { restore } from "./restore.ts";
import { dropPreserved, swapBack } from "./preserve.ts";
import { provisionScratch } from "./scratch.ts";
import { inspectTarget } from "./target.ts";

/** Fingerprint a database the way capture does: in one repeatable-read transaction. */
async function fingerprintTarget(target: string, options: FingerprintOptions = {}): Promise<Fingerprint> {
  const location = parsePostgresUrl(target, "target");
  return withClient(location, "TARGET_UNREACHABLE", async (client) => {
    try {
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      const fingerprint = await readFingerprint(client, { contentHashes: options.contentHashes === true });
      await client.query("COMMIT");
      return fingerprint;
    } catch (error) {
      throw new LifeboatError(
        "TARGET_UNREACHABLE",
        `fingerprinting ${describeLocation(location)} failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
  });
}

export const postgresEngine: Engine<PostgresSourceConfig> = {
  name: "postgres",
  summary:
    "one PostgreSQL database: pg_dump directory format under an exported snapshot, parallel pg_restore",
  configSchema: postgresSourceSchema,
  pathFields: [],
  restoreFlags: [
    { name: "clean", description: "drop and recreate a non-empty target database", replacesTarget: true },
    {
      name: "globals",
      description: "also restore the roles captured with the snapshot",
      replacesTarget: false,
    },
  ],
  capabilities: {
    atomicSwap: true,
    sqlChecks: true,
    contentHashes: true,
    pitr: true,
    partialRestore: ["tables"],
    scratch: ["throwaway-cluster", "server-database"],
    preservesReplaced: true,
  },
  checkTarget: (target) => parsePostgresUrl(target, "target") && target,
  capture: (source, sink, context) =>
    postgresModeOf(source) === "physical"
      ? capturePhysical(source, sink, context)
      : capture(source, sink, context),
  captureVariants: (source) =>
    postgresModeOf(source) === "both"
      ? [
          { ...source, mode: "logical" },
          { ...source, mode: "physical" },
        ]
      : [source],
  inspectTarget: (target) => inspectTarget(parsePostgresUrl(target, "target")),
  restore,
  describeSnapshot: (snapshot, artifacts) => describeSnapshot(snapshot, artifacts),
  fingerprint: (target, _context, options) => fingerprintTarget(target, options),
  identifyTarget: (source, target, context, recorded) => identifyTarget(source, target, context, recorded),
  provisionScratch,
  swapBack,
  dropPreserved,
  queryScalar,
  executeSql,
  sourceGrowth: (source, snapshot, context) => sourceGrowth(source, snapshot.engineMeta, context.signal),
  pitr: postgresPitr,
};
