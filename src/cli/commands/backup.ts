// lifeboat backup [SOURCE...]: back up the named sources (all by default).
// Each source is backed up independently: one failing does not stop the
// others, and the exit code reports the first failure.

import { refuseInternalTags, validTags } from "../../domain/tags.ts";
import { LifeboatError } from "../../errors.ts";
import { backupSource, captureVariantsOf, type BackupResult } from "../../operations/backup.ts";
import { recorded } from "../../operations/run-record.ts";
import { formatBytes } from "../output.ts";
import { backupGroup } from "../../operations/group-backup.ts";
import { selectGroup, selectSources, withRepository, type CommandEnv } from "../session.ts";

interface Failure {
  readonly source: string;
  readonly error: LifeboatError;
}

export async function backupCommand(
  env: CommandEnv,
  names: readonly string[],
  flags: { tag?: readonly string[]; group?: string } = {},
): Promise<void> {
  const tags = validTags(flags.tag ?? []);
  refuseInternalTags(tags, "--tag");
  const { results, failures, bundle } = await withRepository(
    env,
    { kind: "shared", command: "backup" },
    async (context, config) => {
      if (flags.group !== undefined) {
        if (names.length > 0)
          throw new LifeboatError(
            "BAD_ARGUMENT",
            "backup --group takes no source names: it backs up the group's members",
          );
        const { members } = selectGroup(config, flags.group);
        return backupGroup(context, flags.group, members, tags);
      }
      const selected = selectSources(config, names);
      if (selected.length === 0)
        throw new LifeboatError("BAD_ARGUMENT", "lifeboat.yaml declares no sources to back up");
      const results: BackupResult[] = [];
      const failures: Failure[] = [];
      for (const [name, source] of selected) {
        if (env.signal.aborted) break;
        env.log.info(`backing up ${name} (${source.engine})...`);
        for (const variant of captureVariantsOf(context, source)) {
          try {
            const result = await recorded(
              context,
              { operation: "backup", source: name },
              () => backupSource(context, name, variant, { tags }),
              (done) => ({
                snapshot: done.snapshot.id,
                bytesRead: done.stats.bytesRead,
                bytesStored: done.stats.bytesStored,
              }),
            );
            results.push(result);
          } catch (error) {
            const failure =
              error instanceof LifeboatError ? error : new LifeboatError("INTERNAL", String(error));
            env.log.error(`backup of ${name} failed: [${failure.code}] ${failure.message}`);
            failures.push({ source: name, error: failure });
          }
        }
      }
      return { results, failures, bundle: null };
    },
  );

  env.output.result(
    {
      snapshots: results.map((result) => ({
        source: result.source,
        id: result.snapshot.id,
        engine: result.snapshot.engine,
        consistentAt: result.snapshot.consistentAt,
        tags: result.snapshot.tags,
        seconds: result.seconds,
        ...result.stats,
        fingerprint: result.snapshot.fingerprint,
      })),
      failures: failures.map((failure) => ({ source: failure.source, error: failure.error.toJSON() })),
      ...(flags.group !== undefined ? { bundle } : {}),
    },
    () =>
      results
        .map(
          (result) =>
            `snapshot ${result.snapshot.id.slice(0, 8)} of ${result.source}: ${formatBytes(result.stats.bytesRead)} read, ` +
            `${formatBytes(result.stats.bytesStored)} new stored (${result.stats.chunksNew}/${result.stats.chunksTotal} chunks new) in ${result.seconds.toFixed(1)}s`,
        )
        .concat(
          bundle
            ? [
                `bundle ${bundle.id} of group ${bundle.group}: ${bundle.members.length} snapshots, consistent points ${bundle.spreadSeconds.toFixed(3)} s apart`,
              ]
            : [],
        )
        .join("\n"),
  );
  const first = failures[0];
  if (first) {
    throw new LifeboatError(
      first.error.code,
      `${failures.length} of ${failures.length + results.length} backups failed`,
      {
        details: { failed: failures.map((failure) => failure.source) },
        hint: first.error.hint,
        reported: true,
      },
    );
  }
}
