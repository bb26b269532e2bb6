// lifeboat restore --group GROUP --to MEMBER=TARGET ...: restore every member
// of a bundle (the newest, or --snapshot BUNDLE) into its target.

import { isLifeboatError, LifeboatError } from "../../errors.ts";
import { findBundle } from "../../operations/bundles.ts";
import { restoreGroup, type GroupRestoreResult } from "../../operations/group-restore.ts";
import { redact } from "../../runtime/redact.ts";
import { confirmationName } from "../../plan/environments.ts";
import { confirmProductionTarget, confirmTargetName } from "../environment-guard.ts";
import type { RestoreNotice } from "../restore-notify.ts";
import { loadSessionConfig, selectGroup, withRepository, type CommandEnv } from "../session.ts";
import { keptText } from "./restore.ts";
import { readinessAfterRestore, type ServiceReadiness } from "../restore-readiness.ts";

export interface GroupRestoreFlags {
  readonly to: readonly string[];
  readonly snapshot: string;
  readonly clean?: boolean;
  readonly force?: boolean;
  readonly dryRun?: boolean;
  readonly targetNotSource?: boolean;
  /** Each production member target's name, confirming it (environments:). */
  readonly confirm?: string | readonly string[];
  /** commander's --no-ready: false skips the members' after_restore hooks and ready probes. */
  readonly ready?: boolean;
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
  // Every member restored and verified: now each member's service, in the group's order (hooks, then ready probes).
  const services =
    flags.dryRun || flags.ready === false || outcome.failures.length > 0
      ? new Map<string, MemberService>()
      : await membersReady(env, outcome);
  const withService = (member: GroupRestoreResult["members"][number]) => {
    const service = services.get(member.source);
    if (!service) return member.result;
    return {
      ...member.result,
      ...readinessField(service),
      phases: { ...member.result.phases, ...service.phases },
    };
  };
  if (!flags.dryRun)
    await flags.notice?.groupEnded({
      ...outcome,
      members: outcome.members.map((member) => ({ ...member, result: withService(member) })),
    });
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
        phases: withService({ source, target, result }).phases,
        preserved: result.preserved,
        ...readinessField(services.get(source)),
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
  const notReady = [...services].filter(([, service]) => "error" in service);
  const first = outcome.failures[0];
  if (!first && notReady.length > 0) {
    throw new LifeboatError(
      "SERVICE_NOT_READY",
      `every member of ${group} is restored and verified, but ${notReady.map(([source]) => source).join(", ")} ${notReady.length === 1 ? "is" : "are"} not ready`,
      { details: { notReady: notReady.map(([source]) => source) }, reported: true },
    );
  }
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

type MemberService = ServiceReadiness | { readonly error: LifeboatError; readonly phases: object };

/** Each member's after_restore hooks and ready probes, one member after another; a member not ready does not stop the others. */
async function membersReady(
  env: CommandEnv,
  outcome: GroupRestoreResult,
): Promise<Map<string, MemberService>> {
  const { config } = await loadSessionConfig(env);
  const services = new Map<string, MemberService>();
  for (const { source, target, result } of outcome.members) {
    try {
      const service = await readinessAfterRestore(env, source, config.sources[source], target, {
        snapshot: result.snapshot.id,
        phases: result.phases,
      });
      if (service) services.set(source, service);
    } catch (error) {
      if (!isLifeboatError(error, "SERVICE_NOT_READY")) throw error;
      env.log.error(`${source}: ${error.message}`);
      const phases = (error.details["phases"] ?? {}) as object;
      services.set(source, { error, phases });
    }
  }
  return services;
}

/** A member's readiness for its result: what the probes found, also when they failed. */
function readinessField(service: MemberService | undefined): { readiness?: unknown } {
  if (!service) return {};
  return { readiness: "readiness" in service ? service.readiness : service.error.details["readiness"] };
}
