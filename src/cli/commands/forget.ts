// lifeboat forget [SOURCE...]: remove the snapshots each source's retention
// policy does not keep (operations/forget.ts). --dry-run takes a shared lock
// and prints the plan; the real run takes the exclusive lock, as restic's
// forget does, plans again under it and removes exactly what the plan lists.
// --prune then prunes in the same exclusive lock (operations/prune.ts), and
// only after the forget succeeded; --dry-run --prune prints both plans, the
// prune one as if the forget had been applied.

import type { OperationContext } from "../../operations/context.ts";
import { recorded } from "../../operations/run-record.ts";
import { durationPattern } from "../../config/source-fields.ts";
import { shortId } from "../../domain/snapshot.ts";
import { engineFor } from "../../engines/registry.ts";
import { LifeboatError } from "../../errors.ts";
import { applyForget, choosePolicies, planForget } from "../../operations/forget.ts";
import { applyPrune, preparePrune } from "../../operations/prune.ts";
import type { ForgetPlan, PlannedSource } from "../../operations/forget.ts";
import type { KeepReason, RetentionPolicy } from "../../plan/retention.ts";
import { table } from "../output.ts";
import { graceMsOf, pruneJson, pruneText, pruneWal } from "./prune.ts";
import { loadSessionConfig, selectSources, warnDamage, withRepository, type CommandEnv } from "../session.ts";

export interface ForgetFlags {
  readonly keepLast?: string;
  readonly keepHourly?: string;
  readonly keepDaily?: string;
  readonly keepWeekly?: string;
  readonly keepMonthly?: string;
  readonly keepYearly?: string;
  readonly keepWithin?: string;
  readonly keepTag?: readonly string[];
  readonly dryRun?: boolean;
  readonly prune?: boolean;
  readonly grace?: string;
}

const countFlags = [
  "keepLast",
  "keepHourly",
  "keepDaily",
  "keepWeekly",
  "keepMonthly",
  "keepYearly",
] as const;

const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;

/** The --keep-* flags as a policy; undefined when none was given. */
export function policyFromFlags(flags: ForgetFlags): RetentionPolicy | undefined {
  const policy: Record<string, unknown> = {};
  for (const key of countFlags) {
    const text = flags[key];
    if (text === undefined) continue;
    if (!/^[1-9]\d*$/.test(text)) {
      throw new LifeboatError("BAD_ARGUMENT", `${flagName(key)} ${text}: a whole number of at least 1`, {
        details: { flag: flagName(key), value: text },
      });
    }
    policy[key] = Number(text);
  }
  if (flags.keepWithin !== undefined) {
    if (!durationPattern.test(flags.keepWithin)) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `--keep-within ${flags.keepWithin}: a duration such as 36h or 7d (m is minutes)`,
        { details: { flag: "--keep-within", value: flags.keepWithin } },
      );
    }
    policy["keepWithin"] = flags.keepWithin;
  }
  if (flags.keepTag && flags.keepTag.length > 0) policy["keepTags"] = [...flags.keepTag];
  return Object.keys(policy).length > 0 ? (policy as RetentionPolicy) : undefined;
}

export async function forgetCommand(
  env: CommandEnv,
  named: readonly string[],
  flags: ForgetFlags,
): Promise<void> {
  const names = [...new Set(named)]; // `forget db db` plans db once
  if (flags.grace !== undefined && !flags.prune) {
    throw new LifeboatError("BAD_ARGUMENT", "--grace applies only with --prune", {
      details: { flag: "--grace" },
    });
  }
  const graceMs = graceMsOf(flags.grace);
  const { config } = await loadSessionConfig(env);
  const policies = choosePolicies({
    sources: selectSources(config, names),
    defaultPolicy: config.retention,
    flags: policyFromFlags(flags),
    named: names.length > 0,
  }).map((choice) => {
    const source = config.sources[choice.source];
    const pitr = source ? engineFor(source.engine).pitr : undefined;
    return source && pitr ? { ...choice, pitrWindowSeconds: pitr.windowSeconds(source) } : choice;
  });
  const dryRun = !!flags.dryRun;
  // A dry run only reads: it takes a shared lock and works on a read-only repository too.
  const lock = dryRun
    ? { kind: "shared" as const, command: "forget --dry-run" }
    : { kind: "exclusive" as const, command: "forget" };
  const { plan, removed, prune } = await withRepository(env, lock, (context) =>
    dryRun
      ? forgetAndPrune(context)
      : recorded(context, { operation: flags.prune ? "prune" : "forget", source: null }, () =>
          forgetAndPrune(context),
        ),
  );
  async function forgetAndPrune(context: OperationContext) {
    const plan = await planForget(context, policies, names.length === 0);
    const removed = dryRun ? [] : await applyForget(context, plan);
    if (!flags.prune) return { plan, removed, prune: undefined };
    const forgotten = dryRun ? new Set(plan.remove) : undefined;
    const prunePlan = await preparePrune(context, graceMs, forgotten);
    const result = dryRun ? undefined : await applyPrune(context, prunePlan);
    return {
      plan,
      removed,
      prune: { plan: prunePlan, result, wal: await pruneWal(context, dryRun, forgotten) },
    };
  }
  const warn = warnDamage(env);
  for (const damage of plan.damaged)
    warn({ ...damage, message: `${damage.message}; forget leaves it alone` });
  env.output.result(
    {
      dryRun,
      sources: plan.sources.map((planned) => ({
        source: planned.source,
        policyFrom: planned.from,
        policy: planned.policy,
        keep: planned.keep,
        remove: planned.remove,
      })),
      skipped: plan.skipped,
      damaged: plan.damaged.map(({ id, object, code, message }) => ({ id, object, code, message })),
      removed: dryRun ? plan.remove : removed,
      ...(prune ? { prune: pruneJson(prune.plan, prune.result, graceMs, prune.wal) } : {}),
    },
    () =>
      [
        renderText(plan, dryRun, removed, !!prune),
        ...(prune ? [pruneText(prune.plan, prune.result, prune.wal)] : []),
      ].join("\n\n"),
  );
}

function renderText(plan: ForgetPlan, dryRun: boolean, removed: readonly string[], pruning: boolean): string {
  const blocks = plan.sources.map((planned) => {
    const rows = [
      ...planned.keep.map((kept) => ({
        ...kept,
        action: "keep",
        why: kept.reasons.map(reasonText).join(", "),
      })),
      ...planned.remove.map((gone) => ({ ...gone, action: dryRun ? "would remove" : "remove", why: "" })),
    ].sort((a, b) => a.consistentAt.localeCompare(b.consistentAt));
    const heading = `${planned.source} (${policyText(planned)}): keep ${planned.keep.length}, ${dryRun ? "would remove" : "remove"} ${planned.remove.length}`;
    if (rows.length === 0) return `${heading}\n  no snapshots`;
    const body = table(
      ["ID", "CONSISTENT AT", "ACTION", "KEPT BY"],
      rows.map((row) => [shortId(row.id), row.consistentAt, row.action, row.why]),
    );
    return `${heading}\n${body}`;
  });
  const skipped = plan.skipped.map(
    (skip) => `${skip.source}: ${skip.reason}; its ${skip.snapshots} snapshot(s) kept`,
  );
  const count = dryRun ? plan.remove.length : removed.length;
  const summary = dryRun
    ? `dry run: a real run removes ${count} snapshot(s); nothing was removed`
    : count === 0
      ? "removed no snapshot"
      : pruning
        ? `removed ${count} snapshot(s)`
        : `removed ${count} snapshot(s); the data only they referenced stays in the repository until \`lifeboat prune\``;
  return [...blocks, ...skipped, summary].join("\n\n");
}

function policyText(planned: PlannedSource): string {
  const { policy } = planned;
  const rules = [
    ...countFlags.flatMap((key) => (policy[key] === undefined ? [] : [`${flagName(key)} ${policy[key]}`])),
    ...(policy.keepWithin === undefined ? [] : [`--keep-within ${policy.keepWithin}`]),
    ...(policy.keepTags ?? []).map((tag) => `--keep-tag ${tag}`),
  ];
  const from = { flags: "from the flags", source: "its own retention", default: "the default retention" }[
    planned.from
  ];
  return `${from}: ${rules.join(" ")}`;
}

function reasonText(reason: KeepReason): string {
  return reason.rule === "pinned" ? "pinned" : `${reason.rule} ${reason.detail}`;
}
