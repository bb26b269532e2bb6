// lifeboat unlock [--remove-all]: remove locks left by dead processes.
// Stale locks are already ignored by other commands; this tidies them up, and
// --remove-all is the escape hatch for a lock you know is abandoned.

import { LifeboatError } from "../../errors.ts";
import { listLocks, removeStaleLocks } from "../../repository/locks.ts";
import { table } from "../output.ts";
import { loadSessionConfig, openStorage, type CommandEnv } from "../session.ts";

export async function unlockCommand(
  env: CommandEnv,
  flags: { removeAll?: boolean; dryRun?: boolean },
): Promise<void> {
  const { config } = await loadSessionConfig(env);
  const backend = openStorage(config.repository.url);
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
    env.output.result({ dryRun: false, removed }, () =>
      removed.length
        ? `removed ${removed.length} lock(s): ${removed.map((lock) => `${lock.kind} by ${lock.command} (pid ${lock.pid} on ${lock.hostname})`).join(", ")}`
        : "no stale locks",
    );
  } finally {
    await backend.close();
  }
}
