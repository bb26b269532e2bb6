// lifeboat restore --group GROUP --to MEMBER=TARGET ...: restore every member
// of a bundle (the newest, or --snapshot BUNDLE) into its target.

import { LifeboatError } from "../../errors.ts";
import { findBundle } from "../../operations/bundles.ts";
import { restoreGroup } from "../../operations/group-restore.ts";
import { redact } from "../../runtime/redact.ts";
import { confirmationName } from "../../plan/environments.ts";
import { confirmProductionTarget, confirmTargetName } from "../environment-guard.ts";
import type { RestoreNotice } from "../restore-notify.ts";
import { loadSessionConfig, selectGroup, withRepository, type CommandEnv } from "../session.ts";
import { keptText } from "./restore.ts";

export interface GroupRestoreFlags {
  readonly to: readonly string[];
  readonly snapshot: string;
  readonly clean?: boolean;
  readonly force?: boolean;
  readonly dryRun?: boolean;
  readonly targetNotSource?: boolean;
  /** Each production member target's name, confirming it (environments:). */
  readonly confirm?: string | readonly string[];
  /** commander's --no-preserve: false drops what each member's restore replaces (each target's name confirmed). */
  readonly preserve?: boolean;
  /** restore --notify: the start, progress updates and end go to the notify targets (cli/restore-notify.ts). */
  readonly notice?: RestoreNotice;
}

/** `--to app-db=postgres://…` pairs: member → target. */
export function memberTargets(values: readonly string[]): Map<string, string> {
  const targets = new Map<string, string>();
  for (const value of values) {
    const at = value.indexOf("=");
    const member = value.slice(0, at);
    if (at <= 0 || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(member)) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `--to ${redact(value)}: with --group, each --to is MEMBER=TARGET`,
        {
          hint: "For example: --to app-db=postgres://127.0.0.1/app_restored --to cache=redis://127.0.0.1:6390",
        },
      );
    }
    if (targets.has(member)) throw new LifeboatError("BAD_ARGUMENT", `--to names ${member} twice`);
    targets.set(member, value.slice(at + 1));
  }
  return targets;
}

export async function restoreGroupCommand(
  env: CommandEnv,
  group: string,
  flags: GroupRestoreFlags,
): Promise<void> {
  const targets = memberTargets(flags.to);
  if (!flags.dryRun) {
    // Every production member target needs its name confirmed (one --confirm per such target).
    const { config } = await loadSessionConfig(env);
    const confirmed = [flags.confirm ?? []].flat();
    for (const target of targets.values()) {
      const name = confirmationName(target);
      await confirmProductionTarget(
        target,
        config.environments,
        confirmed.includes(name) ? name : confirmed[0],
        "the group restore target",
      );
      if (flags.preserve === false && (flags.clean || flags.force))
        await confirmTargetName(
          target,
          confirmed.includes(name) ? name : confirmed[0],
          "--no-preserve drops what the restore replaces, and nothing of it is kept",
        );
    }
  }
  const outcome = await withRepository(
    env,
    { kind: "shared", command: "restore" },
    async (context, config) => {
      const { members } = selectGroup(config, group);
      const bundle = await findBundle(context, group, flags.snapshot);
      const progressOf = await flags.notice?.beginGroup(context, config, { group, bundle, targets });
      return restoreGroup(context, {
        ...(progressOf ? { progressOf } : {}),
        bundle,
        members,
        targets,
        options: { clean: !!flags.clean, force: !!flags.force },
        dryRun: !!flags.dryRun,
        targetNotSource: !!flags.targetNotSource,
        preserve: flags.preserve !== false,
      });
    },
  );
  if (!flags.dryRun) await flags.notice?.groupEnded(outcome);
  env.output.result(
    {
      dryRun: !!flags.dryRun,
      group,
      bundle: outcome.bundle.id,
      seconds: outcome.seconds,
      members: outcome.members.map(({ source, target, result }) => ({
        source,
        snapshot: result.snapshot.id,
        target: redact(target),
        plan: result.plan,
        verified: result.verified,
        phases: result.phases,
        preserved: result.preserved,
      })),
      failures: outcome.failures.map(({ source, error }) => ({ source, error: error.toJSON() })),
    },
    () =>
      [
        ...outcome.members.map(({ source, target, result }) =>
          flags.dryRun
            ? [
                `dry run: would restore ${source} (snapshot ${result.snapshot.id.slice(0, 8)}) into ${redact(target)}:`,
                ...result.plan.steps.map((step) => `  - ${step}`),
              ].join("\n")
            : `restored ${source} (snapshot ${result.snapshot.id.slice(0, 8)}) into ${redact(target)}, verified` +
              keptText(result.preserved, target),
        ),
        ...(flags.dryRun
          ? []
          : [`group ${group} (bundle ${outcome.bundle.id}) restored in ${outcome.seconds.toFixed(1)}s`]),
      ].join("\n"),
  );
  const first = outcome.failures[0];
  if (first) {
    throw new LifeboatError(
      first.error.code,
      `${outcome.failures.length} of ${outcome.bundle.members.length} member restores failed`,
      {
        details: { failed: outcome.failures.map((failure) => failure.source) },
        hint: first.error.hint,
        reported: true,
        ...(first.error.exitCode !== undefined ? { exitCode: first.error.exitCode } : {}),
      },
    );
  }
}
