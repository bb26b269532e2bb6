// lifeboat wal-push SOURCE %p (archive_command) and
// lifeboat wal-fetch SOURCE %f %p (restore_command).
//
// PostgreSQL decides by the exit code alone: wal-push exits 0 only once the
// file is durably archived (or was already, byte for byte); wal-fetch exits
// 0 with the file written, 1 when it is not archived (recovery then ends or
// tries its next source), and another code when it could not tell.
// Neither takes a repository lock: a WAL object is written once and never
// rewritten, and prune only deletes WAL older than every kept base backup.

import { LifeboatError } from "../../errors.ts";
import { walFetch, walPush } from "../../operations/wal.ts";
import { formatBytes } from "../output.ts";
import { selectSources, withRepository, type CommandEnv } from "../session.ts";

export async function walPushCommand(env: CommandEnv, sourceName: string, path: string): Promise<void> {
  const result = await withRepository(
    env,
    null,
    (context, config) => {
      const [[, source]] = selectSources(config, [sourceName]) as [[string, (typeof config.sources)[string]]];
      return walPush(context, { sourceName, source, path });
    },
    { archiveCommand: true },
  );
  env.output.result(result, () =>
    result.outcome === "duplicate"
      ? `${result.name} was already archived with the same contents`
      : `archived ${result.name} (${formatBytes(result.bytes)}, ${formatBytes(result.storedBytes)} stored)`,
  );
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
      const [[, source]] = selectSources(config, [sourceName]) as [[string, (typeof config.sources)[string]]];
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
