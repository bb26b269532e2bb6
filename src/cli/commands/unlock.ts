// lifeboat unlock [--remove-all]: remove locks left by dead processes.
// Stale locks are already ignored by other commands; this tidies them up, and
// --remove-all is the escape hatch for a lock you know is abandoned. It also
// removes the local temporary folders killed runs left (operations/temp-dir.ts).

import { LifeboatError } from "../../errors.ts";
import { listLocks, removeStaleLocks } from "../../repository/locks.ts";
import type { SpoolSweep } from "../../operations/temp-dir.ts";
import { formatBytes, table } from "../output.ts";
import { loadSessionConfig, openStorage, sweepLeftoverSpools, type CommandEnv } from "../session.ts";

function spoolLines(spools: SpoolSweep): string[] {
  return [
    spools.removed
      ? `removed ${spools.removed} leftover temporary folder(s) of killed runs (${formatBytes(spools.bytesRemoved)})`
      : "",
    spools.unprovable.length
      ? `left alone ${spools.unprovable.length} old temporary folder(s) whose owner cannot be proved gone: ${spools.unprovable.join(", ")}`
      : "",
  ].filter(Boolean);
}

export async function unlockCommand(
  env: CommandEnv,
  flags: { removeAll?: boolean; dryRun?: boolean },
): Promise<void> {
  const { config } = await loadSessionConfig(env);
  const backend = openStorage(config.repository);
  try {
    if (!(await backend.stat("config"))) {
      throw new LifeboatError("REPOSITORY_NOT_FOUND", `no repository at ${backend.location}`);
    }
    if (flags.dryRun) {
      const locks = await listLocks(backend);
      env.output.result({ dryRun: true, locks }, () =>
        locks.length
          ? `locks present (nothing removed):\n${table(
              ["ID", "KIND", "HOST", "PID", "COMMAND", "REFRESHED"],
              locks.map((lock) => [
                lock.id.slice(0, 8),
                lock.kind,
                lock.hostname,
                String(lock.pid),
                lock.command,
                lock.refreshed,
              ]),
            )}`
          : "no locks",
      );
      return;
    }
    const removed = await removeStaleLocks(backend, { all: !!flags.removeAll });
    const spools = await sweepLeftoverSpools(env);
    env.output.result({ dryRun: false, removed, spools }, () =>
      [
        removed.length
          ? `removed ${removed.length} lock(s): ${removed.map((lock) => `${lock.kind} by ${lock.command} (pid ${lock.pid} on ${lock.hostname})`).join(", ")}`
          : "no stale locks",
        ...spoolLines(spools),
      ].join("\n"),
    );
  } finally {
    await backend.close();
  }
}
