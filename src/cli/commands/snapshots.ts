// lifeboat snapshots [SOURCE...]: list snapshots, oldest first.

import { shortId, totalSize } from "../../domain/snapshot.ts";
import { formatBytes, table } from "../output.ts";
import { withRepository, type CommandEnv } from "../session.ts";

export async function snapshotsCommand(env: CommandEnv, names: readonly string[]): Promise<void> {
  const snapshots = await withRepository(env, null, async (context) => {
    const all = await context.repository.listSnapshots();
    return names.length ? all.filter((snapshot) => names.includes(snapshot.source)) : all;
  });
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
        fingerprint: snapshot.fingerprint,
        engineMeta: snapshot.engineMeta,
      })),
    },
    () =>
      snapshots.length === 0
        ? "no snapshots"
        : table(
            ["ID", "SOURCE", "ENGINE", "CONSISTENT AT", "SIZE", "HOST"],
            snapshots.map((snapshot) => [
              shortId(snapshot.id),
              snapshot.source,
              snapshot.engine,
              snapshot.consistentAt,
              formatBytes(totalSize(snapshot)),
              snapshot.hostname,
            ]),
          ),
  );
}
