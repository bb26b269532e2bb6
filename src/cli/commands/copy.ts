// lifeboat copy --to-config OTHER.yaml [SOURCE...]: copy the snapshots the
// other config's repository lacks into it (plan/copy.ts decides which,
// operations/copy.ts copies), e.g. a fast local repository to an offsite S3
// one. The destination opens with ITS OWN password settings from OTHER.yaml:
// two repositories rarely share a password, and nothing here may carry one
// across. Both repositories get a shared lock: copy only adds to the
// destination, as a backup does, and only reads the source; the exclusive
// lock of a forget or prune in either one waits. --dry-run plans under the
// same locks and copies nothing, so it lists exactly what a real run copies.

import { loadConfig } from "../../engines/config.ts";
import { readRepositoryPassword } from "../../config/password.ts";
import { shortId, totalSize, type Snapshot } from "../../domain/snapshot.ts";
import { LifeboatError } from "../../errors.ts";
import { copySnapshots, type CopyOutcome } from "../../operations/copy.ts";
import { planCopy, type CopyPlan } from "../../plan/copy.ts";
import { openRepository } from "../../repository/repository.ts";
import type { Repository } from "../../repository/types.ts";
import { formatBytes, table } from "../output.ts";
import {
  type CommandEnv,
  lockRequest,
  openStorage,
  selectSources,
  openOptions,
  warnDamage,
  withRepository,
} from "../session.ts";

export interface CopyFlags {
  readonly toConfig: string;
  readonly dryRun?: boolean;
}

export async function copyCommand(
  env: CommandEnv,
  named: readonly string[],
  flags: CopyFlags,
): Promise<void> {
  const names = [...new Set(named)];
  const dryRun = !!flags.dryRun;
  const { plan, outcome } = await withRepository(
    env,
    { kind: "shared", command: "copy" },
    async (context, config) => {
      const listing = await context.repository.listSnapshotsWithDamage();
      refuseUnknownNames(names, listing.snapshots, config);
      return withDestination(env, flags.toConfig, context.repository, async (destination, signal) => {
        const plan = planCopy({
          source: listing,
          destination: await destination.listSnapshots(),
          sources: names,
        });
        const outcome: CopyOutcome = dryRun
          ? { copied: [], failures: [] }
          : await copySnapshots(context.repository, destination, plan.copy, {
              signal: AbortSignal.any([signal, ...(context.signal ? [context.signal] : [])]),
              onCopied: ({ from, to }) =>
                env.log.info(`copied ${from.source} ${shortId(from.id)} as ${shortId(to.id)}`),
              onFailed: ({ snapshot, error }) =>
                env.log.error(
                  `copy of ${snapshot.source} ${shortId(snapshot.id)} failed: [${error.code}] ${error.message}`,
                ),
            });
        return { plan, outcome };
      });
    },
  );
  const warn = warnDamage(env);
  for (const damage of plan.damaged) warn({ ...damage, message: `${damage.message}; copy skips it` });
  env.output.result(jsonDocument(plan, outcome, dryRun), () => renderText(plan, outcome, dryRun));
  const first = outcome.failures[0];
  if (first) {
    throw new LifeboatError(
      first.error.code,
      `${outcome.failures.length} of ${plan.copy.length} snapshot copies failed; nothing was committed for them`,
      {
        details: { failed: outcome.failures.map((failure) => failure.snapshot.id) },
        hint: first.error.hint,
        reported: true,
      },
    );
  }
}

/**
 * Open OTHER.yaml's repository with its own password, hold a shared lock on
 * it while `body` runs, always release and close. `signal` aborts when that
 * lock is lost.
 */
async function withDestination<T>(
  env: CommandEnv,
  path: string,
  source: Repository,
  body: (destination: Repository, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { config } = await loadConfig(path);
  const password = await readRepositoryPassword(config.repository);
  const backend = openStorage(config.repository);
  let destination: Repository;
  try {
    destination = await openRepository(backend, password, openOptions(env));
  } catch (error) {
    await backend.close();
    throw error;
  }
  try {
    if (destination.config.id === source.config.id) {
      throw new LifeboatError("BAD_ARGUMENT", `--to-config ${path} names the repository being copied from`, {
        hint: "Point --to-config at the config of a second repository.",
      });
    }
    const lock = await destination.lock("shared", "copy", lockRequest(env));
    try {
      const result = await body(destination, lock.signal);
      lock.signal.throwIfAborted();
      return result;
    } catch (error) {
      lock.signal.throwIfAborted(); // a lost destination lock is the cause of whatever followed
      throw error;
    } finally {
      await lock.release().catch((error: unknown) => {
        env.log.warn(
          `could not remove lock ${lock.info.id} on the destination (${String(error)}); it goes stale by itself`,
        );
      });
    }
  } finally {
    await destination.close();
  }
}

/** A named source must exist in the config or among the source's snapshots (a source since removed from the config still copies). */
function refuseUnknownNames(
  names: readonly string[],
  snapshots: readonly Snapshot[],
  config: Parameters<typeof selectSources>[0],
): void {
  const snapshotSources = new Set(snapshots.map((snapshot) => snapshot.source));
  const unknown = names.filter((name) => !snapshotSources.has(name));
  if (unknown.length > 0) selectSources(config, unknown); // throws UNKNOWN_SOURCE for a name in neither
}

function jsonDocument(plan: CopyPlan, outcome: CopyOutcome, dryRun: boolean) {
  return {
    dryRun,
    copy: plan.copy.map((snapshot) => ({
      id: snapshot.id,
      source: snapshot.source,
      consistentAt: snapshot.consistentAt,
      size: totalSize(snapshot),
    })),
    copied: outcome.copied.map(({ from, to, stats }) => ({
      source: from.source,
      from: from.id,
      to: to.id,
      consistentAt: from.consistentAt,
      ...stats,
    })),
    present: plan.present.map(({ snapshot, destinationId }) => ({
      source: snapshot.source,
      from: snapshot.id,
      to: destinationId,
      consistentAt: snapshot.consistentAt,
    })),
    damaged: plan.damaged.map(({ id, object, code, message }) => ({ id, object, code, message })),
    failures: outcome.failures.map(({ snapshot, error }) => ({
      source: snapshot.source,
      from: snapshot.id,
      error: error.toJSON(),
    })),
  };
}

function renderText(plan: CopyPlan, outcome: CopyOutcome, dryRun: boolean): string {
  const lines: string[] = [];
  if (dryRun && plan.copy.length > 0) {
    lines.push(
      table(
        ["ID", "SOURCE", "CONSISTENT AT", "SIZE"],
        plan.copy.map((snapshot) => [
          shortId(snapshot.id),
          snapshot.source,
          snapshot.consistentAt,
          formatBytes(totalSize(snapshot)),
        ]),
      ),
    );
  }
  for (const { from, to, stats } of outcome.copied) {
    lines.push(
      `copied ${from.source} ${shortId(from.id)} (${from.consistentAt}) as ${shortId(to.id)}: ` +
        `${formatBytes(stats.bytesRead)} read, ${formatBytes(stats.bytesStored)} new stored`,
    );
  }
  const summary = dryRun
    ? `dry run: a real run copies ${plan.copy.length} snapshot(s); ${plan.present.length} already in the destination; nothing was copied`
    : `copied ${outcome.copied.length} snapshot(s); ${plan.present.length} already in the destination` +
      (outcome.failures.length > 0 ? `; ${outcome.failures.length} failed` : "");
  return [...lines, summary].join("\n");
}
