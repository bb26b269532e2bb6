// lifeboat wal-stream SOURCE: the streamer of wal_stream, in the foreground
// until SIGTERM (a systemd service or a Kubernetes Deployment runs it), and
// --drop-slot, which retires it: a slot nobody reads keeps WAL in pg_wal.

import type { SourceConfig } from "../../engines/config.ts";
import { LifeboatError } from "../../errors.ts";
import { pitrOf } from "../../operations/wal.ts";
import { runWalStream } from "../../operations/wal-stream.ts";
import { selectSources, withRepository, type CommandEnv } from "../session.ts";

export async function walStreamCommand(
  env: CommandEnv,
  sourceName: string,
  flags: { readonly dropSlot?: boolean; readonly dryRun?: boolean },
): Promise<void> {
  if (flags.dryRun && !flags.dropSlot) {
    throw new LifeboatError("BAD_ARGUMENT", "--dry-run goes with --drop-slot (streaming deletes nothing)");
  }
  if (flags.dropSlot) {
    await dropSlot(env, sourceName, !!flags.dryRun);
    return;
  }
  const summary = await withRepository(
    env,
    null,
    (context, config) => {
      const [[, source]] = selectSources(config, [sourceName]) as [[string, SourceConfig]];
      return runWalStream(context, { sourceName, source });
    },
    { archiveCommand: true },
  );
  env.output.result(
    { source: sourceName, stopped: true, ...summary },
    () =>
      `stopped streaming ${sourceName}: ${summary.segmentsArchived} segment(s) archived, ${summary.headsStored} head(s) stored` +
      (summary.streamedUpTo ? `, streamed up to LSN ${summary.streamedUpTo}` : ""),
  );
}

async function dropSlot(env: CommandEnv, sourceName: string, dryRun: boolean): Promise<void> {
  const outcome = await withRepository(env, null, async (context, config) => {
    const [[, source]] = selectSources(config, [sourceName]) as [[string, SourceConfig]];
    const pitr = pitrOf(context, sourceName, source);
    const settings = pitr.streamSettings(source, sourceName);
    if (!settings) {
      throw new LifeboatError("BAD_ARGUMENT", `source ${sourceName} has no wal_stream settings, so no slot`);
    }
    const dropped = dryRun ? false : await pitr.dropStreamSlot(source, settings);
    return { slot: settings.slot, dropped };
  });
  env.output.result({ source: sourceName, dryRun, ...outcome }, () =>
    dryRun
      ? `would drop replication slot ${outcome.slot} of ${sourceName}`
      : outcome.dropped
        ? `dropped replication slot ${outcome.slot} of ${sourceName}`
        : `${sourceName} has no replication slot ${outcome.slot}: nothing to drop`,
  );
}
