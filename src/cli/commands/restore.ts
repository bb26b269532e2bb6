// lifeboat restore SOURCE --to TARGET: restore a snapshot and prove it.

import { restoreSnapshot } from "../../operations/restore.ts";
import { withRepository, type CommandEnv } from "../session.ts";

export interface RestoreFlags {
  readonly to: string;
  readonly snapshot: string;
  readonly clean?: boolean;
  readonly force?: boolean;
  readonly globals?: boolean;
  readonly dryRun?: boolean;
}

export async function restoreCommand(
  env: CommandEnv,
  sourceName: string,
  flags: RestoreFlags,
): Promise<void> {
  const result = await withRepository(env, { kind: "shared", command: "restore" }, (context, config) =>
    restoreSnapshot(context, {
      sourceName,
      ...(config.sources[sourceName] ? { source: config.sources[sourceName] } : {}),
      selector: flags.snapshot,
      target: flags.to,
      options: { clean: !!flags.clean, force: !!flags.force, globals: !!flags.globals },
      dryRun: !!flags.dryRun,
    }),
  );
  env.output.result(
    {
      dryRun: result.dryRun,
      source: sourceName,
      snapshot: result.snapshot.id,
      target: flags.to,
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
        : `restored snapshot ${result.snapshot.id.slice(0, 8)} of ${sourceName} into ${flags.to} ` +
          `in ${(result.phases.restore ?? 0).toFixed(1)}s; verified against its fingerprint ` +
          `(${Object.keys(result.snapshot.fingerprint.counts).length} counts, ${Object.keys(result.snapshot.fingerprint.hashes).length} hashes match)`,
  );
}
