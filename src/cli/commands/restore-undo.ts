// `lifeboat restore --undo TARGET` and `lifeboat preserved [drop ID]`: the
// faces of operations/preserved.ts. An undo swaps the copy the newest
// restore into TARGET kept back into place and keeps what is there now
// aside in turn, so an undo can itself be undone; a drop removes one kept
// copy for good, so it takes the copy's id and, on a production target,
// the target's name.

import type { PreservedRecord } from "../../domain/preserved.ts";
import { dropPreservedCopy, listPreserved, undoRestore } from "../../operations/preserved.ts";
import { redact } from "../../runtime/redact.ts";
import { confirmProductionTarget } from "../environment-guard.ts";
import { loadSessionConfig, withRepository, type CommandEnv } from "../session.ts";

export interface UndoFlags {
  readonly dryRun?: boolean;
  readonly confirm?: string | readonly string[];
}

export async function undoCommand(env: CommandEnv, target: string, flags: UndoFlags): Promise<void> {
  const { config } = await loadSessionConfig(env);
  if (!flags.dryRun)
    await confirmProductionTarget(
      target,
      config.environments,
      [flags.confirm ?? []].flat().at(-1),
      "the target of the undo",
    );
  const result = await withRepository(env, { kind: "shared", command: "restore" }, (context) =>
    undoRestore(context, target, { dryRun: !!flags.dryRun, sources: config.sources }),
  );
  const shown = redact(target);
  env.output.result(
    { dryRun: result.dryRun, target: shown, restored: result.restored, keptAside: result.keptAside ?? null },
    () =>
      result.dryRun
        ? `dry run: would put ${result.restored.location} (kept ${result.restored.keptAt} by a restore of ${result.restored.source}) back as ${shown}, keeping what is there now aside`
        : `put ${result.restored.location} back as ${shown}` +
          (result.keptAside
            ? `; what was there is kept as ${result.keptAside.location} (\`lifeboat preserved drop ${result.keptAside.id}\` removes it)`
            : ""),
  );
}

function listing(copies: readonly PreservedRecord[]): string {
  if (copies.length === 0) return "no kept copies: no restore has replaced data that is still kept";
  return copies
    .map(
      (copy) =>
        `${copy.id}  ${copy.keptAt}  ${copy.source} (${copy.engine})  ${copy.location}  beside ${copy.target}` +
        (copy.note ? `  [${copy.note}]` : ""),
    )
    .join("\n");
}

export async function preservedListCommand(env: CommandEnv): Promise<void> {
  const copies = await withRepository(env, null, (context) => listPreserved(context));
  env.output.result({ preserved: copies }, () => listing(copies));
}

export async function preservedDropCommand(env: CommandEnv, id: string, flags: UndoFlags): Promise<void> {
  const { config } = await loadSessionConfig(env);
  const copies = await withRepository(env, null, (context) => listPreserved(context));
  const target = copies.find((copy) => copy.id === id)?.target;
  if (target !== undefined && !flags.dryRun)
    await confirmProductionTarget(
      target,
      config.environments,
      [flags.confirm ?? []].flat().at(-1),
      "the kept copy's target",
    );
  const dropped = await withRepository(env, { kind: "shared", command: "restore" }, (context) =>
    dropPreservedCopy(context, id, { dryRun: !!flags.dryRun }),
  );
  env.output.result({ dryRun: !!flags.dryRun, dropped }, () =>
    flags.dryRun
      ? `dry run: would remove ${dropped.location} (kept beside ${dropped.target})`
      : `removed ${dropped.location}`,
  );
}
