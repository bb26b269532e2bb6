// lifeboat tag add|remove SNAPSHOT TAG...: change a snapshot's tags after
// backup (operations/tag.ts). A manifest is named by its hash, so new tags
// make a new snapshot id; the new manifest records the first id as
// `original` and the old manifest is deleted. The exclusive lock is taken as
// forget takes it (a retag deletes a manifest); --dry-run takes a shared one
// and prints the id the change would give. Tags Lifeboat sets itself
// (`bundle:…`) are refused: removing one would split a bundle.

import { shortId } from "../../domain/snapshot.ts";
import { refuseInternalTags, validTags } from "../../domain/tags.ts";
import { LifeboatError } from "../../errors.ts";
import { applyTagChange, planTagChange, type TagChange } from "../../operations/tag.ts";
import { withRepository, type CommandEnv } from "../session.ts";

export interface TagFlags {
  readonly source?: string;
  readonly dryRun?: boolean;
}

export async function tagCommand(
  env: CommandEnv,
  action: "add" | "remove",
  selector: string,
  tags: readonly string[],
  flags: TagFlags,
): Promise<void> {
  const flag = `tag ${action}`;
  if (tags.length === 0)
    throw new LifeboatError("BAD_ARGUMENT", `${flag}: name at least one tag after the snapshot`);
  validTags(tags, flag);
  refuseInternalTags(tags, flag);
  const change: TagChange = action === "add" ? { add: tags, remove: [] } : { add: [], remove: tags };
  const dryRun = !!flags.dryRun;
  const lock = dryRun
    ? { kind: "shared" as const, command: "tag --dry-run" }
    : { kind: "exclusive" as const, command: "tag" };
  const { plan, outcome } = await withRepository(env, lock, async (context) => {
    const plan = await planTagChange(context, selector, flags.source, change);
    return { plan, outcome: dryRun ? undefined : await applyTagChange(context, plan) };
  });
  const from = plan.snapshot;
  const to = outcome?.to.id ?? plan.newId;
  const before = new Set(from.tags);
  const after = new Set(plan.tags);
  env.output.result(
    {
      dryRun,
      changed: plan.changed,
      source: from.source,
      from: from.id,
      id: to,
      original: plan.changed ? (from.original ?? from.id) : (from.original ?? null),
      tags: plan.tags,
      added: plan.tags.filter((tag) => !before.has(tag)),
      removed: [...before].filter((tag) => !after.has(tag)).sort(),
    },
    () => {
      const list = plan.tags.length === 0 ? "no tags" : `tags ${plan.tags.join(",")}`;
      if (!plan.changed)
        return `snapshot ${shortId(from.id)} of ${from.source} already has ${list}; nothing changed`;
      return dryRun
        ? `dry run: snapshot ${shortId(from.id)} of ${from.source} would become ${shortId(to)} with ${list}; nothing was changed`
        : `snapshot ${shortId(from.id)} of ${from.source} is now ${shortId(to)} with ${list} (full id ${to})`;
    },
  );
}
