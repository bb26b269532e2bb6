// lifeboat snapshots [SOURCE...]: list snapshots, oldest first. A damaged
// manifest affects only its own snapshot: the listing succeeds (exit 0), the
// damaged ones are named on stderr and in `damaged` (restic lists likewise).
// --tag a,b keeps the snapshots with both tags; --tag a --tag b those with either.

import { shortId, totalSize } from "../../domain/snapshot.ts";
import { matchesTagFilter, parseTagFilter } from "../../domain/tags.ts";
import { formatBytes, table } from "../output.ts";
import { withRepository, type CommandEnv } from "../session.ts";

export async function snapshotsCommand(
  env: CommandEnv,
  names: readonly string[],
  flags: { tag?: readonly string[] } = {},
): Promise<void> {
  const filter = parseTagFilter(flags.tag ?? []);
  const { snapshots, damaged } = await withRepository(env, null, async (context) => {
    const listing = await context.repository.listSnapshotsWithDamage();
    const wanted = listing.snapshots.filter(
      (snapshot) =>
        (names.length === 0 || names.includes(snapshot.source)) && matchesTagFilter(snapshot.tags, filter),
    );
    return { snapshots: wanted, damaged: listing.damaged };
  });
  for (const damage of damaged) {
    env.log.warn(
      `snapshot ${shortId(damage.id)} is damaged and left out (${damage.code} ${damage.object}); run \`lifeboat check\``,
    );
  }
  env.output.result(
    {
      snapshots: snapshots.map((snapshot) => ({
        id: snapshot.id,
        source: snapshot.source,
        engine: snapshot.engine,
        consistentAt: snapshot.consistentAt,
        startedAt: snapshot.startedAt,
        finishedAt: snapshot.finishedAt,
        hostname: snapshot.hostname,
        size: totalSize(snapshot),
        artifacts: snapshot.artifacts.length,
        tags: snapshot.tags,
        original: snapshot.original ?? null,
        fingerprint: snapshot.fingerprint,
        engineMeta: snapshot.engineMeta,
      })),
      damaged: damaged.map(({ id, object, code, message }) => ({ id, object, code, message })),
    },
    () => {
      const rows = [
        ...snapshots.map((snapshot) => [
          shortId(snapshot.id),
          snapshot.source,
          snapshot.engine,
          snapshot.consistentAt,
          formatBytes(totalSize(snapshot)),
          snapshot.hostname,
          snapshot.tags.join(","),
        ]),
        // The source of a damaged manifest is unknown: it is shown whatever sources were asked for.
        ...damaged.map((damage) => [shortId(damage.id), "DAMAGED", "?", "?", "?", damage.code, ""]),
      ];
      return rows.length === 0
        ? "no snapshots"
        : table(["ID", "SOURCE", "ENGINE", "CONSISTENT AT", "SIZE", "HOST", "TAGS"], rows);
    },
  );
}
