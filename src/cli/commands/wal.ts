// lifeboat wal-push SOURCE %p (archive_command) and
// lifeboat wal-fetch SOURCE %f %p (restore_command).
//
// PostgreSQL decides by the exit code alone: wal-push exits 0 only once the
// file is durably archived (or was already, byte for byte); wal-fetch exits
// 0 with the file written, 1 when it is not archived (recovery then ends or
// tries its next source), and another code when it could not tell.
// Neither takes a repository lock: a WAL object is written once and never
// rewritten, and prune only deletes WAL older than every kept base backup.

import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import type { SourceConfig } from "../../engines/config.ts";
import type { AsyncPushSettings } from "../../engines/engine.ts";
import { engineFor } from "../../engines/registry.ts";
import { LifeboatError } from "../../errors.ts";
import { awaitPushed, prepareSpoolDir, runPusher, spoolPaths } from "../../operations/wal-async.ts";
import { rememberSpoolDir } from "../../runtime/spool-memo.ts";
import { pitrOf, walFetch, walPush } from "../../operations/wal.ts";
import { formatBytes } from "../output.ts";
import { loadSessionConfig, selectSources, withRepository, type CommandEnv } from "../session.ts";

export async function walPushCommand(env: CommandEnv, sourceName: string, path: string): Promise<void> {
  const { path: configFile, config } = await loadSessionConfig(env);
  const [[, source]] = selectSources(config, [sourceName]) as [[string, SourceConfig]];
  const settings = engineFor(source.engine).pitr?.asyncPush(source);
  if (settings) {
    await walPushAsync(env, { configFile, sourceName, path, settings });
    return;
  }
  const result = await withRepository(
    env,
    null,
    (context) => walPush(context, { sourceName, source, path }),
    {
      archiveCommand: true,
    },
  );
  env.output.result(result, () =>
    result.outcome === "duplicate"
      ? `${result.name} was already archived with the same contents`
      : `archived ${result.name} (${formatBytes(result.bytes)}, ${formatBytes(result.storedBytes)} stored)`,
  );
}

/**
 * wal_push.async: no repository is opened here; the background pusher
 * archives, this command collects its word (starting one when none runs).
 */
async function walPushAsync(
  env: CommandEnv,
  job: { configFile: string; sourceName: string; path: string; settings: AsyncPushSettings },
): Promise<void> {
  const name = basename(job.path);
  const spool = spoolPaths(job.settings.spoolDir, job.sourceName);
  await prepareSpoolDir(spool);
  // The next segments' fast path finds the spool from this note instead of parsing the YAML.
  await rememberSpoolDir(job.configFile, job.sourceName, job.settings.spoolDir);
  const walDir = dirname(resolve(job.path));
  const result = await awaitPushed(spool, name, {
    waitMs: job.settings.waitMs,
    startPusher: () => startPusher(job.configFile, job.sourceName, walDir, spool.log),
    signal: env.signal,
  });
  if (result.outcome === "failed") {
    throw new LifeboatError("WAL_PUSH_FAILED", `archiving ${name} failed: ${result.message}`);
  }
  env.output.result(
    { name, outcome: "stored", async: true },
    () => `archived ${name} (by the background pusher)`,
  );
}

/** Start this Lifeboat as the cluster's pusher, detached, in the data directory archive_command runs in. */
function startPusher(configFile: string, sourceName: string, walDir: string, log: string): void {
  const out = openSync(log, "a", 0o600);
  const child = spawn(
    process.execPath,
    [process.argv[1]!, "-c", resolve(configFile), "wal-pusher", sourceName, walDir],
    { detached: true, stdio: ["ignore", out, out], cwd: process.cwd() },
  );
  child.unref();
  closeSync(out);
}

/** The background pusher: archive every ready WAL file of the cluster, then leave when idle. */
export async function walPusherCommand(env: CommandEnv, sourceName: string, walDir: string): Promise<void> {
  const archived = await withRepository(
    env,
    null,
    async (context, config) => {
      const [[, source]] = selectSources(config, [sourceName]) as [[string, SourceConfig]];
      const pitr = pitrOf(context, sourceName, source);
      const settings = pitr.asyncPush(source);
      if (!settings)
        throw new LifeboatError("BAD_ARGUMENT", `source ${sourceName} does not push WAL asynchronously`);
      const spool = spoolPaths(settings.spoolDir, sourceName);
      await prepareSpoolDir(spool);
      return runPusher(
        context,
        { sourceName, source },
        { spool, walDir, parallel: settings.parallel, ready: () => pitr.readyWalFiles(walDir) },
      );
    },
    { archiveCommand: true },
  );
  env.output.result({ archived }, () => `archived ${archived} WAL file(s)`);
}

export async function walFetchCommand(
  env: CommandEnv,
  sourceName: string,
  name: string,
  destination: string,
  flags: { systemId?: string },
): Promise<void> {
  if (flags.systemId !== undefined && !/^\d{1,20}$/.test(flags.systemId)) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `--system-id ${JSON.stringify(flags.systemId)} is not a system identifier`,
      {
        hint: 'It is the number pg_controldata prints as "Database system identifier".',
      },
    );
  }
  const found = await withRepository(
    env,
    null,
    (context, config) => {
      const [[, source]] = selectSources(config, [sourceName]) as [[string, SourceConfig]];
      return walFetch(context, {
        sourceName,
        source,
        name,
        destination,
        ...(flags.systemId !== undefined ? { systemId: flags.systemId } : {}),
      });
    },
    { archiveCommand: true },
  );
  env.output.result({ name, found }, () => (found ? `fetched ${name}` : `${name} is not archived`));
  if (!found) {
    // Exit 1, already reported above: PostgreSQL asks for files that do not exist as a matter of course.
    throw new LifeboatError("WAL_NOT_ARCHIVED", `${name} is not archived`, { reported: true });
  }
}
