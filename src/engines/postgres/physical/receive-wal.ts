// Streaming WAL (wal_stream): pg_receivewal with a physical replication slot
// writes the server's WAL into a local directory as it is generated, the
// way Barman streams. The operations layer (operations/wal-stream.ts) moves
// finished segments into the archive and stores the flushed head of the
// current one every interval.
//
// How far the receiver's files reach is what the server says it was told:
// pg_receivewal --synchronous fsyncs each write and reports the flushed
// position at once, and pg_stat_replication shows it (flush_lsn) for the
// walsender with the receiver's application_name. The directory is read
// after that position is, so its files hold at least that much WAL.
//
// The slot keeps WAL in pg_wal while the receiver is down, so nothing is
// lost across restarts; the same slot fills pg_wal if the streamer is gone
// for good, which is why docs/engines.md asks for max_slot_wal_keep_size and
// `wal-stream --drop-slot` removes it.

import type pg from "pg";
import { parseLsn } from "../../../domain/wal.ts";
import { LifeboatError } from "../../../errors.ts";
import type { EngineContext, WalReceiver, WalStreamSettings } from "../../engine.ts";
import type { PostgresSourceConfig } from "../config.ts";
import {
  connect,
  describeLocation,
  parsePostgresUrl,
  taggedLocation,
  toolConnection,
  withClient,
  type PgLocation,
} from "../connection.ts";
import { readServerInfo } from "../server-info.ts";

/** The slot of a source: wal_stream.slot, else lifeboat_<source> in the characters slot names allow. */
export function slotOf(sourceName: string, slot: string | undefined): string {
  return slot ?? `lifeboat_${sourceName.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`.slice(0, 63);
}

export async function receiveWal(
  source: PostgresSourceConfig,
  settings: WalStreamSettings,
  context: EngineContext,
): Promise<WalReceiver> {
  const location = parsePostgresUrl(source.url, "source");
  const facts = await withClient(location, "SOURCE_UNREACHABLE", async (client) => {
    const server = await readServerInfo(client);
    if (!server.systemIdentifier) {
      throw new LifeboatError(
        "SOURCE_UNREACHABLE",
        `cannot read the system identifier of ${describeLocation(location)} (pg_control_system())`,
        { hint: "Stream as a role that may call pg_control_system() (a superuser, or GRANT EXECUTE)." },
      );
    }
    const size = await client.query<{ size: string }>(
      "SELECT setting AS size FROM pg_settings WHERE name = 'wal_segment_size'",
    );
    await ensureSlot(client, settings.slot, location);
    return { systemId: server.systemIdentifier, segmentSize: Number(size.rows[0]!.size) };
  });

  // The tag finds this receiver's walsender in pg_stat_replication.
  const applicationName = `lifeboat-wal-stream-${settings.slot}`;
  const connection = toolConnection(taggedLocation(location, applicationName));
  const args = [
    `--directory=${settings.dir}`,
    `--slot=${settings.slot}`,
    "--synchronous",
    "--status-interval=1",
    "--no-loop",
    "--no-password",
    ...connection.args,
  ];
  context.log.debug(`pg_receivewal ${args.join(" ")}`);
  const run = context.runner.start("pg_receivewal", args, { env: connection.env });
  run.stdout.resume();
  const exited = run.done.then((result) =>
    result.ok
      ? "pg_receivewal stopped"
      : `pg_receivewal exited (${result.signal ?? `code ${result.exitCode}`}): ${result.stderr.trim().split("\n").slice(-3).join("; ")}`,
  );

  let client: pg.Client | undefined;
  let stopped = false;
  const flushed = async (): Promise<bigint | undefined> => {
    // After stop() the position is what the last reading said; no connection is opened again.
    if (stopped) return undefined;
    try {
      client ??= await connect(location, "SOURCE_UNREACHABLE");
      const result = await client.query<{ flush: string | null }>(
        "SELECT flush_lsn::text AS flush FROM pg_stat_replication WHERE application_name = $1 ORDER BY backend_start DESC LIMIT 1",
        [applicationName],
      );
      const flush = result.rows[0]?.flush;
      return flush ? parseLsn(flush) : undefined;
    } catch (error) {
      // A lost connection is made again at the next reading; the receiver's own exit says the rest.
      await client?.end().catch(() => {});
      client = undefined;
      context.log.debug(`reading the receiver's flush position: ${(error as Error).message}`);
      return undefined;
    }
  };

  return {
    ...facts,
    flushed,
    exited,
    async stop() {
      stopped = true;
      // SIGINT: pg_receivewal flushes what it has and leaves (its documented way to stop).
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGINT");
      const timer = setTimeout(() => run.child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
      await client?.end().catch(() => {});
      client = undefined;
    },
  };
}

/** Create the physical slot when it is missing, reserving WAL from now on. */
async function ensureSlot(client: pg.Client, slot: string, location: PgLocation): Promise<void> {
  const existing = await client.query<{ type: string }>(
    "SELECT slot_type AS type FROM pg_replication_slots WHERE slot_name = $1",
    [slot],
  );
  const type = existing.rows[0]?.type;
  if (type === "physical") return;
  if (type !== undefined) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `replication slot ${slot} on ${describeLocation(location)} is a ${type} slot, not a physical one`,
      { hint: "Name another slot in wal_stream.slot." },
    );
  }
  try {
    await client.query("SELECT pg_create_physical_replication_slot($1, true)", [slot]);
  } catch (error) {
    throw new LifeboatError(
      "SOURCE_UNREACHABLE",
      `cannot create replication slot ${slot} on ${describeLocation(location)}: ${(error as Error).message}`,
      {
        cause: error,
        hint: "Streaming needs a role with REPLICATION (or a superuser), max_replication_slots > 0 and max_wal_senders > 0.",
      },
    );
  }
}

/** Remove the source's slot; false when there was none. A slot in use (a streamer runs) is refused by the server. */
export async function dropStreamSlot(source: PostgresSourceConfig, slot: string): Promise<boolean> {
  const location = parsePostgresUrl(source.url, "source");
  return withClient(location, "SOURCE_UNREACHABLE", async (client) => {
    const existing = await client.query<{ active: boolean }>(
      "SELECT active FROM pg_replication_slots WHERE slot_name = $1",
      [slot],
    );
    const row = existing.rows[0];
    if (!row) return false;
    if (row.active) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `replication slot ${slot} on ${describeLocation(location)} is in use: stop the wal-stream that holds it first`,
      );
    }
    await client.query("SELECT pg_drop_replication_slot($1)", [slot]);
    return true;
  });
}
