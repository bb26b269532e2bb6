// Forget: remove the snapshots a retention policy does not keep. Planning is
// separate from applying (changesets' lesson): planForget() reads the listing
// and returns data, applyForget() deletes exactly the manifests that plan
// names. --dry-run prints the plan; the real run applies the same object, so
// the two cannot disagree. Only manifests are deleted: the data they alone
// referenced stays until a prune (operations/prune.ts; `forget --prune` runs
// one in the same lock). Drill reports, keys and locks are never touched.
//
// The caller holds the exclusive lock while it plans and applies (a backup,
// restore or drill holds a shared one), so nothing in use is forgotten and no
// snapshot lands between the plan and its application.

import type { RetentionConfig } from "../config/source-fields.ts";
import { LifeboatError } from "../errors.ts";
import { keepBundlesWhole } from "../plan/bundles.ts";
import { isEmptyPolicy, PIN_TAG, planRetention, policyFromConfig } from "../plan/retention.ts";
import type { KeepReason, RetentionPlan, RetentionPolicy } from "../plan/retention.ts";
import type { Snapshot } from "../domain/snapshot.ts";
import type { DamagedSnapshot } from "../repository/types.ts";
import type { OperationContext } from "./context.ts";

/** Where a source's policy came from: --keep-* flags, its own `retention:`, or the top-level default. */
export type PolicyOrigin = "flags" | "source" | "default";

export interface SourcePolicy {
  readonly source: string;
  /** Undefined: no policy anywhere for this source. */
  readonly policy: RetentionPolicy | undefined;
  readonly from: PolicyOrigin | undefined;
  /** PITR sources: every moment of this last stretch (pitr_window, seconds) stays restorable. */
  readonly pitrWindowSeconds?: number | undefined;
}

export interface PolicyChoice {
  /** The sources to forget in, with their `retention:` blocks. */
  readonly sources: readonly (readonly [string, { readonly retention?: RetentionConfig | undefined }])[];
  /** The top-level `retention:`. */
  readonly defaultPolicy: RetentionConfig | undefined;
  /** The --keep-* flags as a policy, or undefined when none was given. */
  readonly flags: RetentionPolicy | undefined;
  /** The user named these sources (rather than meaning "every source"). */
  readonly named: boolean;
}

/**
 * Flags replace both config policies; a source's own `retention:` replaces the
 * default (it is not merged with it). A named source without a policy is
 * refused; when no source is named, sources without one are skipped, but an
 * invocation where no source has any policy is refused (restic refuses "no
 * policy" too): forget never guesses.
 */
export function choosePolicies(choice: PolicyChoice): SourcePolicy[] {
  const chosen = choice.sources.map(([source, config]): SourcePolicy => {
    if (choice.flags) return { source, policy: choice.flags, from: "flags" };
    if (config.retention) return { source, policy: policyFromConfig(config.retention), from: "source" };
    if (choice.defaultPolicy)
      return { source, policy: policyFromConfig(choice.defaultPolicy), from: "default" };
    return { source, policy: undefined, from: undefined };
  });
  const without = chosen.filter(({ policy }) => policy === undefined || isEmptyPolicy(policy));
  if (choice.named ? without.length > 0 : without.length === chosen.length) {
    const names = (choice.named ? without : chosen).map(({ source }) => source);
    throw new LifeboatError(
      "NO_RETENTION_POLICY",
      `no retention policy for ${names.join(", ") || "any source"}: forget removes nothing without one`,
      { details: { sources: names } },
    );
  }
  return chosen;
}

export interface PlannedSource extends RetentionPlan {
  readonly policy: RetentionPolicy;
  readonly from: PolicyOrigin;
}

export interface SkippedSource {
  readonly source: string;
  readonly snapshots: number;
  readonly reason: string;
}

export interface ForgetPlan {
  readonly sources: readonly PlannedSource[];
  /** Sources whose snapshots are all kept because no policy applies to them. */
  readonly skipped: readonly SkippedSource[];
  /** Manifests that cannot be read: never removed (their source and time are unknown), never counted. */
  readonly damaged: readonly DamagedSnapshot[];
  /** Every snapshot id the plan removes: what a real run deletes, in this order. */
  readonly remove: readonly string[];
}

/**
 * Plan from the repository's listing. `everySource`: also report snapshots of
 * sources not in `policies` (removed from lifeboat.yaml): they are kept.
 */
export async function planForget(
  context: OperationContext,
  policies: readonly SourcePolicy[],
  everySource: boolean,
): Promise<ForgetPlan> {
  const { snapshots, damaged } = await context.repository.listSnapshotsWithDamage();
  const sources: PlannedSource[] = [];
  const skipped: SkippedSource[] = [];
  for (const { source, policy, from, pitrWindowSeconds } of policies) {
    const own = snapshots.filter((snapshot) => snapshot.source === source);
    if (policy === undefined || from === undefined || isEmptyPolicy(policy)) {
      skipped.push({ source, snapshots: own.length, reason: "no retention policy" });
      continue;
    }
    const pinned = new Set(own.filter((snapshot) => snapshot.tags.includes(PIN_TAG)).map(({ id }) => id));
    // Base backups and logical snapshots of one source (mode: both) are kept by the policy each on
    // their own: keep_last 3 must not let three logical snapshots push out every base backup.
    const groups = groupByKind(context, own);
    const plans = [...groups.entries()].map(([kind, snapshots]) =>
      planRetention({
        source,
        snapshots,
        policy,
        pinned,
        ...(kind === "base" ? { keepAlso: windowAnchor(context, snapshots, pitrWindowSeconds) } : {}),
      }),
    );
    sources.push({ ...mergePlans(source, plans), policy, from });
  }
  if (everySource) {
    const known = new Set(policies.map(({ source }) => source));
    const others = [...new Set(snapshots.map(({ source }) => source))].filter((name) => !known.has(name));
    for (const source of others.sort()) {
      const count = snapshots.filter((snapshot) => snapshot.source === source).length;
      skipped.push({ source, snapshots: count, reason: "not a source in lifeboat.yaml" });
    }
  }
  // A bundle stays whole while any member stays (plan/bundles.ts).
  const whole = keepBundlesWhole(sources, snapshots);
  const planned = sources.map((source, index) => ({ ...source, ...whole[index]! }));
  const remove = planned.flatMap((source) => source.remove.map(({ id }) => id));
  return { sources: planned, skipped, damaged, remove };
}

function isBaseBackup(context: OperationContext, snapshot: Snapshot): boolean {
  try {
    return context.engineFor(snapshot.engine).pitr?.baseBackupOf(snapshot) !== undefined;
  } catch {
    return false; // an engine this build lacks: a plain snapshot to retention
  }
}

function groupByKind(
  context: OperationContext,
  snapshots: readonly Snapshot[],
): Map<"base" | "other", Snapshot[]> {
  const groups = new Map<"base" | "other", Snapshot[]>();
  for (const snapshot of snapshots) {
    const kind = isBaseBackup(context, snapshot) ? "base" : "other";
    groups.set(kind, [...(groups.get(kind) ?? []), snapshot]);
  }
  return groups;
}

/**
 * The base backup a PITR window starts from: the newest one that was
 * consistent before the window began (recovery to the window's first moment
 * replays from it). When every base backup is younger than the window, the
 * oldest one is the best there is.
 */
function windowAnchor(
  context: OperationContext,
  snapshots: readonly Snapshot[],
  windowSeconds: number | undefined,
): Map<string, KeepReason> {
  if (windowSeconds === undefined || snapshots.length === 0) return new Map();
  const start = context.now().getTime() - windowSeconds * 1000;
  const byTime = [...snapshots].sort((a, b) => Date.parse(a.consistentAt) - Date.parse(b.consistentAt));
  const anchor = byTime.filter((snapshot) => Date.parse(snapshot.consistentAt) <= start).at(-1) ?? byTime[0]!;
  const detail = `starts the PITR window of ${formatWindow(windowSeconds)} (from ${new Date(start).toISOString()})`;
  return new Map([[anchor.id, { rule: "pitr-window", detail }]]);
}

function formatWindow(seconds: number): string {
  return seconds % 86_400 === 0
    ? `${seconds / 86_400}d`
    : seconds % 3600 === 0
      ? `${seconds / 3600}h`
      : `${seconds}s`;
}

function mergePlans(source: string, plans: readonly RetentionPlan[]): RetentionPlan {
  const oldestFirst = <T extends { consistentAt: string }>(items: T[]) =>
    items.sort((a, b) => Date.parse(a.consistentAt) - Date.parse(b.consistentAt));
  return {
    source,
    keep: oldestFirst(plans.flatMap((plan) => [...plan.keep])),
    remove: oldestFirst(plans.flatMap((plan) => [...plan.remove])),
  };
}

/** Manifest deletions in flight: on an object store each is a round trip. */
const PARALLEL_FORGETS = 8;

/**
 * Delete the manifests the plan removes, a few at a time: each deletion is
 * atomic, so an interruption leaves a consistent repository and running forget
 * again finishes the job (the plan of what is left removes the rest). The
 * first failure stops the deletions not yet started.
 */
export async function applyForget(context: OperationContext, plan: ForgetPlan): Promise<string[]> {
  const done = new Set<string>();
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < plan.remove.length && failure === undefined) {
      context.signal?.throwIfAborted();
      const id = plan.remove[next++]!;
      try {
        await context.repository.forgetSnapshot(id);
        done.add(id);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_FORGETS, plan.remove.length) }, worker));
  const removed = plan.remove.filter((id) => done.has(id));
  if (failure === undefined) return removed;
  if (!(failure instanceof LifeboatError)) throw failure;
  throw new LifeboatError(
    failure.code,
    `${failure.message} (forget stopped after removing ${removed.length} of ${plan.remove.length} snapshot(s); run it again to finish)`,
    {
      details: { ...failure.details, removed },
      hint: failure.hint,
      exitCode: failure.exitCode,
      cause: failure,
    },
  );
}
