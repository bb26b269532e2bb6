// lifeboat prune [--dry-run] [--grace DURATION]: delete the data objects no
// snapshot references (operations/prune.ts). The real run takes the exclusive
// lock, plans under it and deletes exactly what the plan lists; --dry-run
// takes a shared lock and deletes nothing.

import { recorded } from "../../operations/run-record.ts";
import { durationPattern } from "../../config/source-fields.ts";
import { parseDuration } from "../../domain/duration.ts";
import { LifeboatError } from "../../errors.ts";
import { applyPrune, preparePrune } from "../../operations/prune.ts";
import type { PruneResult } from "../../operations/prune.ts";
import type { PrunePlan } from "../../plan/prune.ts";
import type { OperationContext } from "../../operations/context.ts";
import { applyWalPrune, prepareWalPrune, type WalPruneOutcome } from "../../operations/wal-prune.ts";
import { withRepository, type CommandEnv } from "../session.ts";

export interface PruneFlags {
  readonly dryRun?: boolean;
  readonly grace?: string;
  readonly repackThreshold?: string;
}

/** `--repack-threshold 20%`: the unused share of a pack above which prune repacks it. */
export function repackThresholdOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)%?$/.exec(text);
  const percent = match ? Number(match[1]) : NaN;
  if (!(percent >= 0 && percent <= 100)) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `--repack-threshold ${text}: a percentage from 0% to 100%, such as 20%`,
      {
        details: { flag: "--repack-threshold", value: text },
      },
    );
  }
  return percent / 100;
}

export const DEFAULT_GRACE = "1h";

export function graceMsOf(text: string | undefined): number {
  const grace = text ?? DEFAULT_GRACE;
  if (!durationPattern.test(grace)) {
    throw new LifeboatError("BAD_ARGUMENT", `--grace ${grace}: a duration such as 0s, 30m or 1h`, {
      details: { flag: "--grace", value: grace },
    });
  }
  return parseDuration(grace) * 1000;
}

export async function pruneCommand(env: CommandEnv, flags: PruneFlags): Promise<void> {
  const graceMs = graceMsOf(flags.grace);
  const threshold = repackThresholdOf(flags.repackThreshold);
  const dryRun = !!flags.dryRun;
  const lock = dryRun
    ? { kind: "shared" as const, command: "prune --dry-run" }
    : { kind: "exclusive" as const, command: "prune" };
  const { plan, result, wal } = await withRepository(env, lock, async (context) => {
    const prune = async () => {
      const plan = await preparePrune(context, graceMs, undefined, threshold);
      const result = dryRun ? undefined : await applyPrune(context, plan);
      return { plan, result, wal: await pruneWal(context, dryRun) };
    };
    // A dry run changes nothing: it leaves no record (status shows what prunes did).
    if (dryRun) return prune();
    return recorded(context, { operation: "prune", source: null }, prune, ({ result }) => ({
      bytesStored: result?.deletedBytes ?? null,
    }));
  });
  env.output.result(pruneJson(plan, result, graceMs, wal), () => pruneText(plan, result, wal));
}

/** Prune the WAL archives too (operations/wal-prune.ts); `forgotten` as for preparePrune. */
export async function pruneWal(
  context: OperationContext,
  dryRun: boolean,
  forgotten?: ReadonlySet<string>,
): Promise<WalPruneOutcome> {
  const plan = await prepareWalPrune(context, forgotten);
  return { plan, deleted: dryRun ? undefined : await applyWalPrune(context, plan) };
}

/** The JSON of one prune (also the `prune` member of `forget --prune`). */
export function pruneJson(
  plan: PrunePlan,
  result: PruneResult | undefined,
  graceMs: number,
  wal: WalPruneOutcome,
) {
  return {
    wal: {
      clusters: wal.plan.clusters.map(({ delete: names, ...cluster }) => ({
        ...cluster,
        deleteFiles: names.length,
      })),
      remove: wal.plan.keys,
      deletedFiles: wal.deleted ?? 0,
    },
    dryRun: result === undefined,
    graceSeconds: graceMs / 1000,
    remove: plan.remove,
    removeObjects: plan.remove.length,
    removeBytes: plan.removeBytes,
    repack: plan.repack.map(({ key, size, keepBytes }) => ({ key, size, keepBytes })),
    repackObjects: plan.repack.length,
    repackFreedBytes: plan.repackFreedBytes,
    deletedObjects: result?.deleted ?? 0,
    deletedBytes: result?.deletedBytes ?? 0,
    packsWritten: result?.packsWritten ?? 0,
    kept: plan.kept,
  };
}

export function pruneText(plan: PrunePlan, result: PruneResult | undefined, wal: WalPruneOutcome): string {
  const { kept } = plan;
  const keptLine = `kept ${kept.referenced} referenced object(s) (${kept.referencedBytes} bytes) and ${kept.young} unreferenced object(s) younger than the grace period (${kept.youngBytes} bytes)`;
  const action =
    result === undefined
      ? `dry run: a real prune deletes ${plan.remove.length} unreferenced object(s) (${plan.removeBytes} bytes) and repacks ${plan.repack.length} mostly unused pack(s) (freeing ${plan.repackFreedBytes} bytes); nothing was changed`
      : `deleted ${result.deleted} object(s) (${result.deletedBytes} bytes), of which ${plan.repack.length} repacked into ${result.packsWritten} new pack(s)`;
  const walLines = wal.plan.clusters.map(
    (cluster) =>
      `WAL of ${cluster.source} (cluster ${cluster.systemId}): ${wal.deleted === undefined ? "would delete" : "deleted"} ${cluster.delete.length} file(s), kept ${cluster.kept}${cluster.keepFrom ? ` from ${cluster.keepFrom} on` : ""} (${cluster.reason})`,
  );
  return [action, keptLine, ...walLines].join("\n");
}
