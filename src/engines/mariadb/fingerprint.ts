// Fingerprint a database (a restored target, its partial, a scratch copy) the
// way capture fingerprints the source: the same schema facts (schema.ts) and
// a row count per table, read in one consistent-snapshot transaction. With
// content hashes the rows are not counted by SQL but dumped with the same
// mariadb-dump options and hashed by the same scanner as at capture, so both
// sides hash the very same text of every row.

import { Writable } from "node:stream";
import type { Fingerprint } from "../../domain/fingerprint.ts";
import { LifeboatError } from "../../errors.ts";
import { toolFailure } from "../../runtime/process.ts";
import type { EngineContext, FingerprintOptions } from "../engine.ts";
import {
  describeLocation,
  parseMariadbUrl,
  quoteIdent,
  rows,
  withConnection,
  withDatabase,
  type MariadbLocation,
} from "./connection.ts";
import { DumpScanner, emptyContentHash, type ScanSummary } from "./dump-scanner.ts";
import { readSchemaFacts } from "./schema.ts";
import { dumpArguments, findTool, withDefaultsFile } from "./tools.ts";

/** A target URL that names a database; anything else is BAD_ARGUMENT. */
export function targetLocation(target: string): MariadbLocation {
  const location = parseMariadbUrl(target, "target");
  if (location.database === undefined) {
    throw new LifeboatError("BAD_ARGUMENT", `the target ${describeLocation(location)} names no database`, {
      hint: "Name the database to restore into: --to mariadb://user@host:3306/shop_restored",
    });
  }
  return location;
}

export async function fingerprintTarget(
  target: string,
  context: EngineContext,
  options: FingerprintOptions = {},
): Promise<Fingerprint> {
  const location = targetLocation(target);
  const database = location.database!;
  const exists = await withConnection(
    withDatabase(location, undefined),
    "TARGET_UNREACHABLE",
    async (connection) => {
      const found = await rows<{ n: number }>(
        connection,
        "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
        [database],
      );
      return Number(found[0]?.n) > 0;
    },
  );
  if (!exists) {
    throw new LifeboatError("TARGET_UNREACHABLE", `database ${describeLocation(location)} does not exist`);
  }
  return withConnection(location, "TARGET_UNREACHABLE", async (connection) => {
    await connection.query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    await connection.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
    try {
      const schema = await readSchemaFacts(connection, [database], false);
      const counts: Record<string, number> = { ...schema.counts };
      const hashes: Record<string, string> = { schema: schema.digest };
      if (options.contentHashes) {
        const scanned = await scanTarget(location, context);
        for (const table of schema.tables) {
          counts[`rows:${table.key}`] = scanned.rows.get(table.key) ?? 0;
          hashes[`content:${table.key}`] = scanned.hashes.get(table.key) ?? emptyContentHash;
        }
      } else {
        for (const table of schema.tables) {
          const [row] = await rows<{ n: number }>(
            connection,
            `SELECT COUNT(*) AS n FROM ${quoteIdent(table.database)}.${quoteIdent(table.table)}`,
          );
          counts[`rows:${table.key}`] = Number(row?.n ?? 0);
        }
      }
      return { counts, hashes };
    } finally {
      await connection.query("COMMIT").catch(() => {});
    }
  });
}

/** Dump the target's data (no definitions) through the scanner, storing nothing. */
async function scanTarget(location: MariadbLocation, context: EngineContext): Promise<ScanSummary> {
  const dumpTool = await findTool("dump");
  const scanner = new DumpScanner({ several: false, contentHashes: true });
  return withDefaultsFile(
    withDatabase(location, undefined),
    context.tempDir,
    "TARGET_UNREACHABLE",
    async (defaults) => {
      const args = [
        defaults.argument,
        "--no-create-info",
        "--skip-triggers",
        ...dumpArguments([location.database!], false).filter(
          (arg) => !["--routines", "--events", "--triggers"].includes(arg),
        ),
      ];
      // A scan error is kept and thrown after the tool exits: failing the stream would leave it blocked on a full pipe.
      let scanError: unknown;
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          try {
            if (scanError === undefined) scanner.push(chunk);
          } catch (error) {
            scanError = error;
          }
          callback();
        },
      });
      const result = await context.runner.run(dumpTool, args, {
        stdout: sink,
        ...(context.signal ? { signal: context.signal } : {}),
      });
      if (!result.ok) throw toolFailure(result, `reading the rows of ${describeLocation(location)}`);
      if (scanError !== undefined) throw scanError;
      return scanner.finish();
    },
  );
}
