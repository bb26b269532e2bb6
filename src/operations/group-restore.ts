// restore --group: every member of a bundle into its own target. Every
// member's restore is planned first (guards: the source itself, non-empty
// targets, identity), so a refusal for one member stops the whole group
// before any target is touched; then the members are restored side by side,
// each verified against its snapshot's fingerprint before it replaces
// anything, as a single restore is.

import type { Bundle } from "../domain/bundle.ts";
import type { PreservedRecord } from "../domain/preserved.ts";
import type { SourceConfig } from "../engines/config.ts";
import type { RestoreOptions } from "../engines/engine.ts";
import { LifeboatError } from "../errors.ts";
import { noProgress, type OperationContext, type ProgressSink } from "./context.ts";
import { restoreSnapshot, type RestoreResult } from "./restore.ts";
import { recorded } from "./run-record.ts";

export interface GroupRestoreRequest {
  readonly bundle: Bundle;
  /** The group's members as lifeboat.yaml declares them now. */
  readonly members: readonly (readonly [string, SourceConfig])[];
  /** Member → its target (--to MEMBER=TARGET). */
  readonly targets: ReadonlyMap<string, string>;
  readonly options: RestoreOptions;
  readonly dryRun: boolean;
  readonly targetNotSource: boolean;
  /** Keep what each member's restore replaces (the default); false: --no-preserve. */
  readonly preserve?: boolean;
  /** Each member's own progress sink (restore --notify); members run side by side, so never the shared bar. */
  readonly progressOf?: (member: string) => ProgressSink;
}

export interface GroupRestoreResult {
  readonly bundle: Bundle;
  readonly members: readonly {
    readonly source: string;
    readonly target: string;
    readonly result: RestoreResult;
  }[];
  readonly failures: readonly { readonly source: string; readonly error: LifeboatError }[];
  /** Wall time of the whole group's restore, seconds. */
  readonly seconds: number;
}

export async function restoreGroup(
  context: OperationContext,
  request: GroupRestoreRequest,
): Promise<GroupRestoreResult> {
  const { bundle } = request;
  const named = new Set(bundle.members.map((member) => member.source));
  const unknown = [...request.targets.keys()].filter((name) => !named.has(name));
  const missing = [...named].filter((name) => !request.targets.has(name));
  if (unknown.length > 0 || missing.length > 0) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      [
        missing.length > 0 ? `no --to for ${missing.join(", ")}` : "",
        unknown.length > 0
          ? `${unknown.join(", ")} ${unknown.length === 1 ? "is" : "are"} not in bundle ${bundle.id}`
          : "",
      ]
        .filter(Boolean)
        .join("; "),
      { hint: `Give one --to MEMBER=TARGET for each member: ${[...named].join(", ")}.` },
    );
  }
  const quiet: OperationContext = { ...context, progress: noProgress };
  const requestOf = (member: Bundle["members"][number], dryRun: boolean) => {
    const source = request.members.find(([name]) => name === member.source)?.[1];
    return {
      sourceName: member.source,
      ...(source ? { source } : {}),
      selector: member.snapshot,
      target: request.targets.get(member.source)!,
      options: request.options,
      dryRun,
      targetNotSource: request.targetNotSource,
      preserve: request.preserve !== false,
      onKept: (copy: PreservedRecord) => keptBy(member.source).push(copy),
    };
  };
  // What each member's restore kept of its target, for its run record (even when it fails).
  const kept = new Map<string, PreservedRecord[]>();
  const keptBy = (source: string) => kept.get(source) ?? kept.set(source, []).get(source)!;
  // Every guard first: one refused member stops the group before any target changes.
  const plans = await Promise.all(
    bundle.members.map((member) => restoreSnapshot(quiet, requestOf(member, true))),
  );
  if (request.dryRun) {
    return {
      bundle,
      members: plans.map((result, index) => ({
        source: bundle.members[index]!.source,
        target: request.targets.get(bundle.members[index]!.source)!,
        result,
      })),
      failures: [],
      seconds: 0,
    };
  }
  const started = context.now().getTime();
  const reporting = (source: string): OperationContext =>
    request.progressOf ? { ...quiet, progress: request.progressOf(source) } : quiet;
  const settled = await Promise.allSettled(
    bundle.members.map((member) =>
      recorded(
        quiet,
        { operation: "restore", source: member.source },
        () => restoreSnapshot(reporting(member.source), requestOf(member, false)),
        (done) => ({ snapshot: done.snapshot.id }),
        () => ({ preserved: { kept: keptBy(member.source), released: [] } }),
      ),
    ),
  );
  const members: GroupRestoreResult["members"][number][] = [];
  const failures: { source: string; error: LifeboatError }[] = [];
  settled.forEach((outcome, index) => {
    const source = bundle.members[index]!.source;
    if (outcome.status === "fulfilled")
      members.push({ source, target: request.targets.get(source)!, result: outcome.value });
    else {
      const error =
        outcome.reason instanceof LifeboatError
          ? outcome.reason
          : new LifeboatError("INTERNAL", String(outcome.reason));
      context.log.error(`restore of ${source} failed: [${error.code}] ${error.message}`);
      failures.push({ source, error });
    }
  });
  return { bundle, members, failures, seconds: (context.now().getTime() - started) / 1000 };
}
