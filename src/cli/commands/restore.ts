// lifeboat restore SOURCE --to TARGET: restore a snapshot and prove it.

import type { Config } from "../../engines/config.ts";
import type { OperationContext } from "../../operations/context.ts";
import { recorded } from "../../operations/run-record.ts";
import { LifeboatError } from "../../errors.ts";
import { restoreToPoint } from "../../operations/pitr-restore.ts";
import { restoreSnapshot } from "../../operations/restore.ts";
import { redact, registerSecret } from "../../runtime/redact.ts";
import { loadSessionConfig, withRepository, type CommandEnv } from "../session.ts";
import {
  portOf,
  printPitrResult,
  recoveryActionOf,
  recoveryTargetOf,
  timelineOf,
  walFetchCommandLine,
  wantsPointInTime,
  type PitrFlags,
} from "./restore-pitr.ts";

export interface RestoreFlags extends PitrFlags {
  readonly to: string;
  readonly snapshot: string;
  readonly clean?: boolean;
  readonly force?: boolean;
  readonly globals?: boolean;
  readonly dryRun?: boolean;
  readonly targetNotSource?: boolean;
}

export async function restoreCommand(
  env: CommandEnv,
  sourceName: string,
  flags: RestoreFlags,
): Promise<void> {
  warnAboutPasswordInTarget(env, flags.to);
  const pointInTime = wantsPointInTime(flags);
  const { path: configFile } = await loadSessionConfig(env);
  const outcome = await withRepository(env, { kind: "shared", command: "restore" }, (context, config) =>
    flags.dryRun
      ? restoreOrPlan(context, config)
      : recorded(
          context,
          { operation: "restore", source: sourceName },
          () => restoreOrPlan(context, config),
          (done) => ({ snapshot: done.pitr?.snapshot.id ?? done.logical?.snapshot.id ?? null }),
        ),
  );
  async function restoreOrPlan(context: OperationContext, config: Config) {
    const source = config.sources[sourceName];
    const physical = source && context.engineFor(source.engine).pitr?.takesBaseBackups(source);
    if (pointInTime || (physical && !/^[a-z][a-z0-9+.-]*:\/\//i.test(flags.to))) {
      if (!source)
        throw new LifeboatError("UNKNOWN_SOURCE", `no source named ${sourceName} in lifeboat.yaml`);
      if (flags.clean || flags.globals || flags.targetNotSource) {
        throw new LifeboatError(
          "BAD_ARGUMENT",
          "--clean, --globals and --target-not-source are for logical restores into a database; a point-in-time restore writes a data directory",
          {
            hint: "Leave them out; --force replaces a non-empty directory once the restored copy is complete.",
          },
        );
      }
      const port = portOf(flags);
      const timeline = timelineOf(flags);
      const pitr = await restoreToPoint(context, {
        sourceName,
        source,
        target: recoveryTargetOf(flags) ?? { kind: "latest" },
        action: recoveryActionOf(flags),
        to: flags.to,
        ...(flags.snapshot !== "latest" ? { snapshot: flags.snapshot } : {}),
        ...(timeline !== undefined ? { timeline } : {}),
        force: !!flags.force,
        dryRun: !!flags.dryRun,
        restoreCommand: (systemId) => walFetchCommandLine(configFile, sourceName, systemId),
        ...(flags.start ? { start: { throwaway: false, ...(port !== undefined ? { port } : {}) } } : {}),
      });
      return { pitr };
    }
    return {
      logical: await restoreSnapshot(context, {
        sourceName,
        ...(source ? { source } : {}),
        selector: flags.snapshot,
        target: flags.to,
        options: { clean: !!flags.clean, force: !!flags.force, globals: !!flags.globals },
        dryRun: !!flags.dryRun,
        targetNotSource: !!flags.targetNotSource,
      }),
    };
  }
  if (outcome.pitr) {
    printPitrResult(env, sourceName, outcome.pitr, flags.to);
    return;
  }
  const result = outcome.logical!;
  env.output.result(
    {
      dryRun: result.dryRun,
      source: sourceName,
      snapshot: result.snapshot.id,
      target: redact(flags.to),
      plan: result.plan,
      verified: result.verified,
      phases: result.phases,
      fingerprint: result.snapshot.fingerprint,
    },
    () =>
      result.dryRun
        ? [
            `dry run: would restore snapshot ${result.snapshot.id.slice(0, 8)} of ${sourceName}:`,
            ...result.plan.steps.map((step) => `  - ${step}`),
          ].join("\n")
        : `restored snapshot ${result.snapshot.id.slice(0, 8)} of ${sourceName} into ${redact(flags.to)} ` +
          `in ${Object.values(result.phases)
            .reduce((sum, seconds) => sum + seconds, 0)
            .toFixed(1)}s; verified against its fingerprint ` +
          `(${Object.keys(result.snapshot.fingerprint.counts).length} counts, ${Object.keys(result.snapshot.fingerprint.hashes).length} hashes match)`,
  );
}

/**
 * A password in --to works, but every user of the machine sees it in `ps`
 * while Lifeboat runs, and the shell keeps it in its history. Say so; the
 * password is kept out of everything Lifeboat prints and of every child's argv.
 */
function warnAboutPasswordInTarget(env: CommandEnv, target: string): void {
  if (!/^postgres(ql)?:\/\//i.test(target)) return;
  let password: string | null;
  try {
    const url = new URL(target);
    password = url.password ? decodeURIComponent(url.password) : url.searchParams.get("password");
  } catch {
    return; // the engine reports an unusable URL
  }
  if (!password) return;
  registerSecret(password);
  env.log.warn(
    "the password in --to is visible to every user of this machine (`ps`) while the restore runs, " +
      "and stays in your shell history: leave it out of the URL and set PGPASSWORD or use ~/.pgpass instead",
  );
}
