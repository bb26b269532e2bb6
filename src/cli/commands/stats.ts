// lifeboat stats [SOURCE...] [--last N]: logical and stored sizes, the
// deduplication and compression ratios, per source and in total, and how the
// last N snapshots of each source grew (operations/stats.ts). Read-only,
// under a shared lock: a prune cannot rewrite the index while it is read.

import { shortId } from "../../domain/snapshot.ts";
import { LifeboatError } from "../../errors.ts";
import { repositoryStats, type SizeTotals } from "../../operations/stats.ts";
import { formatBytes, table } from "../output.ts";
import { withRepository, type CommandEnv } from "../session.ts";

const bytes = (value: number | null) => (value === null ? "?" : formatBytes(value));
const times = (value: number | null) => (value === null ? "?" : `${value.toFixed(2)}x`);

export async function statsCommand(
  env: CommandEnv,
  named: readonly string[],
  flags: { last: string },
): Promise<void> {
  if (!/^[1-9]\d*$/.test(flags.last)) {
    throw new LifeboatError("BAD_ARGUMENT", `--last ${flags.last}: a whole number of at least 1`, {
      details: { flag: "--last", value: flags.last },
    });
  }
  const last = Number(flags.last);
  const sources = [...new Set(named)];
  const stats = await withRepository(env, { kind: "shared", command: "stats" }, (context) =>
    repositoryStats(context, sources, last),
  );
  for (const damage of stats.damaged) {
    env.log.warn(
      `snapshot ${shortId(damage.id)} is damaged and not counted (${damage.code} ${damage.object}); run \`lifeboat check\``,
    );
  }
  const missing = stats.total.missingChunks;
  if (missing > 0)
    env.log.warn(
      `${missing} chunk(s) the snapshots reference are missing from the repository: their sizes are unknown; run \`lifeboat check\``,
    );
  env.output.result(
    {
      ...stats,
      damaged: stats.damaged.map(({ id, object, code, message }) => ({ id, object, code, message })),
    },
    () => {
      const row = (name: string, totals: SizeTotals) => [
        name,
        String(totals.snapshots),
        bytes(totals.logicalBytes),
        bytes(totals.uniquePlainBytes),
        bytes(totals.storedBytes),
        times(totals.deduplicationRatio),
        times(totals.compressionRatio),
      ];
      const summary = table(
        ["SOURCE", "SNAPSHOTS", "LOGICAL", "UNIQUE", "STORED", "DEDUP", "COMPRESSION"],
        [...stats.sources.map((source) => row(source.source, source)), row("(total)", stats.total)],
      );
      const notes = [
        `data/ holds ${formatBytes(stats.dataBytes)} (with what no snapshot references until a prune)`,
        ...(stats.plainSizesKnown
          ? []
          : [
              `plaintext sizes are not recorded in a format ${stats.format} repository, so unique sizes and ratios are unknown (?); \`lifeboat migrate\` converts it to format 2`,
            ]),
      ];
      const growth = stats.sources
        .filter((source) => source.growth.length > 0)
        .map(
          (source) =>
            `${source.source}, last ${source.growth.length} snapshot(s):\n` +
            table(
              ["ID", "CONSISTENT AT", "LOGICAL", "NEW CHUNKS", "NEW PLAIN", "NEW STORED"],
              source.growth.map((step) => [
                shortId(step.id),
                step.consistentAt,
                bytes(step.logicalBytes),
                String(step.newChunks),
                bytes(step.newPlainBytes),
                bytes(step.newStoredBytes),
              ]),
            ),
        );
      return [summary, notes.join("\n"), ...growth].join("\n\n");
    },
  );
}
