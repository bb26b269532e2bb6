// lifeboat restore SOURCE --to TARGET: restore a snapshot and prove it.

import type { Config } from "../../engines/config.ts";
import type { PartialRestoreSummary, RestoreSelection } from "../../engines/engine.ts";
import type { OperationContext } from "../../operations/context.ts";
import { recorded } from "../../operations/run-record.ts";
import { LifeboatError } from "../../errors.ts";
import { restoreToPoint } from "../../operations/pitr-restore.ts";
import { restoreSnapshot } from "../../operations/restore.ts";
import { redact, registerSecret } from "../../runtime/redact.ts";
import { confirmationName } from "../../plan/environments.ts";
import { classifyTarget, confirmProductionTarget, confirmTargetName } from "../environment-guard.ts";
import type { PreservedRecord } from "../../domain/preserved.ts";
import { formatBytes } from "../output.ts";
import { readinessAfterRestore } from "../restore-readiness.ts";
import type { RestoreNotice } from "../restore-notify.ts";
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
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  readonly table?: readonly string[];
  readonly schema?: readonly string[];
  /** commander's --no-foreign-keys: false when given. */
  readonly foreignKeys?: boolean;
  /** The target's name, confirming a restore into a production target (environments:). */
  readonly confirm?: string | readonly string[];
  /** restore --notify: the start, progress updates and end go to the notify targets (cli/restore-notify.ts). */
  readonly notice?: RestoreNotice;
  /** commander's --no-preserve: false drops what the restore replaces instead of keeping it aside. */
  readonly preserve?: boolean;
  /** commander's --no-ready: false skips the source's after_restore hooks and ready probes. */
  readonly ready?: boolean;
}

/** The part of the snapshot the flags choose; undefined restores it whole. */
export function selectionOf(flags: RestoreFlags): RestoreSelection | undefined {
  const selection: RestoreSelection = {
    ...(flags.include?.length ? { include: [...flags.include] } : {}),
    ...(flags.exclude?.length ? { exclude: [...flags.exclude] } : {}),
    ...(flags.table?.length ? { tables: [...flags.table] } : {}),
    ...(flags.schema?.length ? { schemas: [...flags.schema] } : {}),
    ...(flags.foreignKeys === false ? { noForeignKeys: true } : {}),
  };
  if (Object.keys(selection).length === 0) return undefined;
  if (selection.noForeignKeys && !selection.tables && !selection.schemas)
    throw new LifeboatError("BAD_ARGUMENT", "--no-foreign-keys goes with --table or --schema");
  return selection;
}

export async function restoreCommand(
  env: CommandEnv,
  sourceName: string,
  flags: RestoreFlags,
): Promise<void> {
  warnAboutPasswordInTarget(env, flags.to);
  const pointInTime = wantsPointInTime(flags);
  const selection = selectionOf(flags);
  const { path: configFile, config: declared } = await loadSessionConfig(env);
  // A production target needs its name confirmed before anything is opened; a dry run only says so.
  const environment = flags.dryRun
    ? await classifyTarget(flags.to, declared.environments)
    : await confirmProductionTarget(
        flags.to,
        declared.environments,
        [flags.confirm ?? []].flat().at(-1),
        "the restore target",
      );
  // Keeping nothing of what a restore replaces is a deliberate choice: the target's name confirms it.
  const preserve = flags.preserve !== false;
  if (!preserve && (flags.clean || flags.force) && !flags.dryRun)
    await confirmTargetName(
      flags.to,
      [flags.confirm ?? []].flat().at(-1),
      "--no-preserve drops what the restore replaces, and nothing of it is kept",
    );
  const kept: PreservedRecord[] = [];
  const onKept = (copy: PreservedRecord) => {
    kept.push(copy);
    env.log.info(`kept what the restore replaces as ${copy.location}`);
  };
  const outcome = await withRepository(env, { kind: "shared", command: "restore" }, (context, config) =>
    flags.dryRun
      ? restoreOrPlan(context, config)
      : recorded(
          context,
          { operation: "restore", source: sourceName },
          () => restoreOrPlan(context, config),
          (done) => ({ snapshot: done.pitr?.snapshot.id ?? done.logical?.snapshot.id ?? null }),
          () => ({ preserved: { kept, released: [] } }),
        ),
  );

  async function restoreOrPlan(context: OperationContext, config: Config) {
    if (flags.notice && !flags.dryRun) {
      const notifying = {
        source: sourceName,
        selector: flags.snapshot,
        target: flags.to,
        partial: !!selection,
      };
      context = await flags.notice.begin(context, config, notifying);
    }
    const source = config.sources[sourceName];
    const physical = source && context.engineFor(source.engine).pitr?.takesBaseBackups(source);
    if (pointInTime || (physical && !/^[a-z][a-z0-9+.-]*:\/\//i.test(flags.to))) {
      if (!source)
        throw new LifeboatError("UNKNOWN_SOURCE", `no source named ${sourceName} in lifeboat.yaml`);
      if (selection) {
        throw new LifeboatError(
          "BAD_ARGUMENT",
          "--include, --exclude, --table and --schema are for logical restores; a point-in-time restore recovers the whole cluster",
          {
            hint: "Restore a logical snapshot with --table, or recover the cluster to a scratch directory and copy the table out.",
          },
        );
      }
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
        preserve,
        onKept,
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
        options: {
          clean: !!flags.clean,
          force: !!flags.force,
          globals: !!flags.globals,
          ...(selection ? { selection } : {}),
        },
        dryRun: !!flags.dryRun,
        targetNotSource: !!flags.targetNotSource,
        preserve,
        onKept,
      }),
    };
  }
  if (outcome.pitr) {
    const { snapshot } = outcome.pitr;
    const pitrService =
      outcome.pitr.dryRun || flags.ready === false
        ? undefined
        : await readinessAfterRestore(env, sourceName, declared.sources[sourceName], flags.to, {
            snapshot: snapshot.id,
            phases: outcome.pitr.outcome?.phases ?? {},
          });
    // A point-in-time restore checks its base backup against its manifest; there is no fingerprint to compare.
    await flags.notice?.restored({
      source: sourceName,
      snapshot: snapshot.id,
      target: flags.to,
      verified: false,
    });
    printPitrResult(env, sourceName, outcome.pitr, flags.to, pitrService);
    return;
  }
  const result = outcome.logical!;
  // The data is restored (and the lock released): now the service, hooks then ready probes (docs/readiness.md).
  const service =
    result.dryRun || flags.ready === false
      ? undefined
      : await readinessAfterRestore(env, sourceName, declared.sources[sourceName], flags.to, {
          snapshot: result.snapshot.id,
          phases: result.phases,
        });
  if (!result.dryRun) {
    const { verified, partial } = result;
    const restored = { snapshot: result.snapshot.id, target: flags.to, partial: !!partial, verified };
    await flags.notice?.restored({ source: sourceName, ...restored, readiness: service?.readiness });
  }
  env.output.result(
    {
      dryRun: result.dryRun,
      source: sourceName,
      snapshot: result.snapshot.id,
      target: redact(flags.to),
      environment: environment ?? null,
      plan: result.plan,
      verified: result.verified,
      ...(result.partial ? { partial: result.partial } : {}),
      preserved: result.preserved,
      phases: { ...result.phases, ...service?.phases },
      ...(service ? { readiness: service.readiness } : {}),
      fingerprint: result.snapshot.fingerprint,
    },
    () =>
      result.dryRun
        ? [
            `dry run: would restore snapshot ${result.snapshot.id.slice(0, 8)} of ${sourceName}:`,
            `  - target environment: ${environment ? `${environment.name} (${environment.because})${environment.name === "production" ? `; a real run needs --confirm ${confirmationName(flags.to)}` : ""}` : "none declared matches"}`,
            ...result.plan.steps.map((step) => `  - ${step}`),
          ].join("\n")
        : result.partial
          ? partialText(result.snapshot.id, sourceName, redact(flags.to), result.partial, result.phases)
          : `restored snapshot ${result.snapshot.id.slice(0, 8)} of ${sourceName} into ${redact(flags.to)} ` +
            `in ${seconds(result.phases).toFixed(1)}s; verified against its fingerprint ` +
            `(${Object.keys(result.snapshot.fingerprint.counts).length} counts, ${Object.keys(result.snapshot.fingerprint.hashes).length} hashes match)` +
            (service?.summary ? `; ${service.summary}` : "") +
            keptText(result.preserved, flags.to),
  );
}

/** The lines that say where the replaced data went and how to get it back. */
export function keptText(preserved: readonly PreservedRecord[], target: string): string {
  return preserved
    .map(
      (copy) =>
        `\nkept the data it replaced as ${copy.location}${copy.note ? ` (${copy.note})` : ""}: ` +
        `\`lifeboat restore --undo ${redact(target)}\` swaps it back, \`lifeboat preserved drop ${copy.id}\` removes it`,
    )
    .join("");
}

function seconds(phases: Readonly<Record<string, number | undefined>>): number {
  return Object.values(phases).reduce<number>((sum, value) => sum + (value ?? 0), 0);
}

/** What a partial restore took, what came along, and what it left out. */
function partialText(
  snapshotId: string,
  sourceName: string,
  target: string,
  partial: PartialRestoreSummary,
  phases: Readonly<Record<string, number | undefined>>,
): string {
  const what = partial.tables
    ? `table(s) ${partial.tables.join(", ")}`
    : `${partial.entries ?? 0} entries (${formatBytes(partial.bytes ?? 0)} of files)`;
  const lines = [
    `restored ${what} of snapshot ${snapshotId.slice(0, 8)} of ${sourceName} into ${target} in ${seconds(phases).toFixed(1)}s; ` +
      "verified against the snapshot's fingerprint for what was restored",
  ];
  if (partial.dependencies?.length) lines.push(`  with what it needs: ${partial.dependencies.join(", ")}`);
  if (partial.leftOut?.length) lines.push(`  left out: ${partial.leftOut.join(", ")}`);
  return lines.join("\n");
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
