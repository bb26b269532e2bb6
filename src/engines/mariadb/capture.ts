// Capture: one mariadb-dump run (its own --single-transaction snapshot)
// streamed into the sink, its rows counted by the dump scanner on the way,
// so the fingerprint's row counts are those of exactly the stored dump. The
// schema half (object counts, digest) is read before and after the dump and
// must not change in between (a DDL statement during a --single-transaction
// dump is the one thing that makes such a dump inconsistent). A tool that
// exits non-zero, is killed, or writes a dump without its completion trailer
// fails the capture: nothing is returned, so no snapshot is recorded.

import { basename } from "node:path";
import { Transform } from "node:stream";
import { parseDuration } from "../../domain/duration.ts";
import type { Fingerprint } from "../../domain/fingerprint.ts";
import { LifeboatError } from "../../errors.ts";
import { toolFailure } from "../../runtime/process.ts";
import type { ArtifactSink, CaptureResult, EngineContext } from "../engine.ts";
import { defaultLockTimeout, type MariadbSourceConfig } from "./config.ts";
import {
  describeLocation,
  parseMariadbUrl,
  rows,
  sourceScope,
  withConnection,
  withDatabase,
} from "./connection.ts";
import { DumpScanner, emptyContentHash, type ScanSummary } from "./dump-scanner.ts";
import { listUserDatabases, readSchemaFacts, type SchemaFacts } from "./schema.ts";
import { dataBytes } from "./query.ts";
import { identityMeta, readServerInfo } from "./server-info.ts";
import { dumpArguments, findTool, withDefaultsFile } from "./tools.ts";

export const dumpArtifact = "dump.sql";

export async function captureMariadb(
  source: MariadbSourceConfig,
  sink: ArtifactSink,
  context: EngineContext,
): Promise<CaptureResult> {
  const location = parseMariadbUrl(source.url, "source", source.password_env);
  const lockWaitSeconds = parseDuration(source.lock_timeout ?? defaultLockTimeout);
  const dumpTool = await findTool("dump");
  const { named, several } = sourceScope(source);
  const server = withDatabase(location, undefined);
  return withConnection(
    server,
    "SOURCE_UNREACHABLE",
    async (connection) => {
      const databases = named ?? (await listUserDatabases(connection));
      await assertDatabasesExist(connection, databases, describeLocation(server));
      const info = await readServerInfo(connection);
      const charsets = await readCharsets(connection, databases);
      const before = await readSchemaFacts(connection, databases, several);
      const sizeBytes = await dataBytes(connection, databases);
      // The server's clock, taken before the dump's transaction starts: every commit before it is in the dump.
      const [clock] = await rows<{ now: string }>(
        connection,
        "SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ') AS now",
      );
      const contentHashes = source.content_hashes === true;
      const scanned = await dumpInto(sink, dumpTool, databases, several, contentHashes, context, source);
      const after = await readSchemaFacts(connection, databases, several);
      if (after.digest !== before.digest) {
        throw new LifeboatError(
          "SOURCE_TOOL_FAILED",
          `the schema of ${describeLocation(server)} changed during the dump`,
          {
            hint: "A table, view, routine, trigger or event was created, altered or dropped while the backup ran, which a --single-transaction dump cannot capture consistently. Run the backup again outside schema migrations.",
          },
        );
      }
      return {
        consistentAt: clock!.now,
        engineMeta: {
          flavour: info.flavour,
          server_version: info.version,
          databases,
          several,
          charsets,
          ...identityMeta(info),
          dump_tool: basename(dumpTool),
          dump_bytes: scanned.bytes,
          data_bytes: sizeBytes,
        },
        fingerprint: fingerprintOf(before, scanned, contentHashes),
      };
    },
    { lockWaitSeconds },
  );
}

/** Run mariadb-dump into the sink through the scanner; reject unless the tool exited 0 and finished its dump. */
async function dumpInto(
  sink: ArtifactSink,
  dumpTool: string,
  databases: readonly string[],
  several: boolean,
  contentHashes: boolean,
  context: EngineContext,
  source: MariadbSourceConfig,
): Promise<ScanSummary> {
  const location = withDatabase(parseMariadbUrl(source.url, "source", source.password_env), undefined);
  const scanner = new DumpScanner({ several, contentHashes });
  return withDefaultsFile(location, context.tempDir, "SOURCE_UNREACHABLE", async (defaults) => {
    const args = [defaults.argument, ...dumpArguments(databases, several)];
    context.log.debug(`${dumpTool} ${args.join(" ")}`);
    const { child, stdout, done } = context.runner.start(dumpTool, args, {
      ...(context.signal ? { signal: context.signal } : {}),
    });
    const counting = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        try {
          scanner.push(chunk);
          callback(null, chunk);
        } catch (error) {
          callback(error as Error);
        }
      },
    });
    stdout.on("error", (error) => counting.destroy(error));
    stdout.pipe(counting);
    try {
      await sink.write(dumpArtifact, counting);
    } catch (error) {
      // The sink (or the scanner) failed: stop the tool; the sink's error is the one to report.
      child.kill("SIGKILL");
      await done;
      context.signal?.throwIfAborted();
      throw error;
    }
    const result = await done;
    if (!result.ok) context.signal?.throwIfAborted();
    if (!result.ok) throw toolFailure(result, `dumping ${databases.join(", ")}`);
    if (!scanner.completed) {
      throw new LifeboatError(
        "SOURCE_TOOL_FAILED",
        `${basename(dumpTool)} exited 0 but its dump has no "-- Dump completed" trailer`,
        {
          hint: "The dump is incomplete; the backup was not recorded. Check the server's error log and run the backup again.",
        },
      );
    }
    return scanner.finish();
  });
}

function fingerprintOf(schema: SchemaFacts, scanned: ScanSummary, contentHashes: boolean): Fingerprint {
  const known = new Set(schema.tables.map((table) => table.key));
  for (const key of scanned.rows.keys()) {
    if (!known.has(key)) {
      throw new LifeboatError(
        "SOURCE_TOOL_FAILED",
        `the dump holds rows of table ${key}, which the schema does not list`,
        {
          hint: "A table was created or renamed during the backup; run it again.",
        },
      );
    }
  }
  const counts: Record<string, number> = { ...schema.counts };
  const hashes: Record<string, string> = { schema: schema.digest };
  for (const table of schema.tables) {
    counts[`rows:${table.key}`] = scanned.rows.get(table.key) ?? 0;
    if (contentHashes) hashes[`content:${table.key}`] = scanned.hashes.get(table.key) ?? emptyContentHash;
  }
  return { counts, hashes };
}

async function assertDatabasesExist(
  connection: Parameters<typeof readSchemaFacts>[0],
  databases: readonly string[],
  server: string,
): Promise<void> {
  if (databases.length === 0) {
    throw new LifeboatError("SOURCE_UNREACHABLE", `${server} has no user databases to back up`);
  }
  const found = await rows<{ name: string }>(
    connection,
    "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA",
  );
  const names = new Set(found.map((row) => row.name));
  const missing = databases.filter((name) => !names.has(name));
  if (missing.length > 0) {
    throw new LifeboatError(
      "SOURCE_UNREACHABLE",
      `database ${missing.join(", ")} does not exist on ${server}`,
      {
        details: { missing },
        hint: "Check the database in the source URL (or `databases:`), and that the user may see it.",
      },
    );
  }
}

/** Each database's default character set and collation: the partial database is created with them. */
async function readCharsets(
  connection: Parameters<typeof readSchemaFacts>[0],
  databases: readonly string[],
): Promise<Record<string, { charset: string; collation: string }>> {
  const found = await rows<{ name: string; charset: string; collation: string }>(
    connection,
    `SELECT SCHEMA_NAME AS name, DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS collation
     FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (${databases.map(() => "?").join(", ")})`,
    databases,
  );
  return Object.fromEntries(
    found.map((row) => [row.name, { charset: row.charset, collation: row.collation }]),
  );
}
