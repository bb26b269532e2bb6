// Drill markers (drill.marker: true): rows a PITR drill writes into the
// source, so that what a point-in-time restore holds is proved from the data
// itself. A marker row commits before the moment the drill restores to, a
// second one after it; the restore must hold the first and not the second.
// The achieved RPO is measured from the newest marker the restore holds.
//
// The table lives in the source's database (lifeboat_drill_markers, public
// schema unless search_path says otherwise); writing it is why markers are
// opt-in. After the second marker the WAL is switched so both reach the
// archive now instead of at archive_timeout, unless the WAL is streamed
// (wal_stream): then the drill waits for the stream head to pass them.

import { formatLsn, parseLsn, type RecoveryTarget } from "../../../domain/wal.ts";
import type { DrillMarker, MarkerPlacement, MarkersFound } from "../../engine.ts";
import type { PostgresSourceConfig } from "../config.ts";
import { parsePostgresUrl, withClient } from "../connection.ts";

const TABLE = "lifeboat_drill_markers";
/** Between the "before" marker's commit, the target moment and the "after" marker's commit. */
const GAP_MS = 20;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function placeMarkers(source: PostgresSourceConfig, drillId: string): Promise<MarkerPlacement> {
  const location = parsePostgresUrl(source.url, "source");
  return withClient(location, "SOURCE_UNREACHABLE", async (client) => {
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${TABLE} (
         id bigserial PRIMARY KEY,
         drill_id text NOT NULL,
         label text NOT NULL,
         marked_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
    );
    const insert = async (label: DrillMarker["label"]): Promise<DrillMarker> => {
      const result = await client.query<{ marked_at: Date }>(
        `INSERT INTO ${TABLE} (drill_id, label) VALUES ($1, $2) RETURNING marked_at`,
        [drillId, label],
      );
      return { drillId, label, at: new Date(result.rows[0]!.marked_at).toISOString() };
    };
    const before = await insert("before");
    await sleep(GAP_MS);
    // The moment the drill restores to, on the server's clock, with its full precision.
    const moment = await client.query<{ text: string; at: Date }>(
      "SELECT clock_timestamp()::text AS text, clock_timestamp() AS at",
    );
    await sleep(GAP_MS);
    const after = await insert("after");
    const position = await client.query<{ lsn: string; segment: string }>(
      "SELECT pg_current_wal_insert_lsn()::text AS lsn, pg_walfile_name(pg_current_wal_insert_lsn()) AS segment",
    );
    // Streamed WAL reaches the archive within wal_stream.interval; archived WAL needs its segment finished.
    const switched = source.wal_stream === undefined;
    if (switched) await client.query("SELECT pg_switch_wal()");
    const row = moment.rows[0]!;
    const target: RecoveryTarget = { kind: "time", time: new Date(row.at), text: row.text };
    return {
      target,
      before,
      after,
      // The segment holding the "after" marker: once it is archived, the restore can prove both.
      segment: position.rows[0]!.segment,
      afterLsn: formatLsn(parseLsn(position.rows[0]!.lsn)),
      switched,
    };
  });
}

export async function readMarkers(url: string, drillId: string): Promise<MarkersFound> {
  const location = parsePostgresUrl(url, "target");
  return withClient(location, "TARGET_UNREACHABLE", async (client) => {
    const exists = await client.query<{ found: boolean }>("SELECT to_regclass($1) IS NOT NULL AS found", [
      TABLE,
    ]);
    if (!exists.rows[0]?.found) return { ofThisDrill: [], newest: undefined };
    const rows = await client.query<{ drill_id: string; label: DrillMarker["label"]; marked_at: Date }>(
      `SELECT drill_id, label, marked_at FROM ${TABLE}
        WHERE drill_id = $1 OR id = (SELECT max(id) FROM ${TABLE})
        ORDER BY id`,
      [drillId],
    );
    const markers = rows.rows.map((row) => ({
      drillId: row.drill_id,
      label: row.label,
      at: new Date(row.marked_at).toISOString(),
    }));
    return { ofThisDrill: markers.filter((marker) => marker.drillId === drillId), newest: markers.at(-1) };
  });
}
