// lifeboat diff SNAP1 SNAP2: what changed between two snapshots of one source,
// read from their metadata (tree indexes, tables of contents, fingerprints).

import { compareSnapshots, selectSnapshot } from "../../operations/inspect.ts";
import type { ObjectChange, TreeChange } from "../../plan/snapshot-diff.ts";
import { formatBytes } from "../output.ts";
import { withRepository, type CommandEnv } from "../session.ts";

const signs = { added: "+", removed: "-", changed: "M" } as const;

function treeLine(change: TreeChange): string {
  const name = `${change.path}${change.type === "dir" ? "/" : ""}`;
  if (change.change === "added")
    return `+ ${name}${change.type === "file" ? ` (${formatBytes(change.sizeAfter ?? 0)})` : ""}`;
  if (change.change === "removed")
    return `- ${name}${change.type === "file" ? ` (${formatBytes(change.sizeBefore ?? 0)})` : ""}`;
  const sizes =
    change.sizeBefore !== change.sizeAfter
      ? ` ${formatBytes(change.sizeBefore ?? 0)} -> ${formatBytes(change.sizeAfter ?? 0)}`
      : "";
  return `M ${name} (${(change.what ?? []).join(", ")})${sizes}`;
}

function objectLine(change: ObjectChange): string {
  const rows =
    change.rowsBefore !== undefined || change.rowsAfter !== undefined
      ? ` rows ${change.rowsBefore ?? "-"} -> ${change.rowsAfter ?? "-"}`
      : "";
  return `${signs[change.change]} ${change.type} ${change.name}${rows}`;
}

export async function diffCommand(
  env: CommandEnv,
  first: string,
  second: string,
  flags: { readonly source?: string },
): Promise<void> {
  const { before, after, diff } = await withRepository(env, null, async (context) =>
    compareSnapshots(
      context,
      await selectSnapshot(context, first, flags.source),
      await selectSnapshot(context, second, flags.source),
    ),
  );
  env.output.result(
    { source: before.source, engine: before.engine, before: before.id, after: after.id, ...diff },
    () => {
      const lines = [
        `comparing snapshot ${before.id.slice(0, 8)} (${before.consistentAt}) with ${after.id.slice(0, 8)} (${after.consistentAt}) of ${before.source}`,
        ...(diff.tree ?? []).map(treeLine),
        ...(diff.objects ?? []).map(objectLine),
      ];
      // Engines without a listing show their fingerprint's changes instead.
      if (!diff.tree && (diff.objects ?? []).length === 0) {
        lines.push(...diff.fingerprint.map((c) => `M ${c.key}: ${c.before ?? "-"} -> ${c.after ?? "-"}`));
      }
      const { added, removed, changed, bytesAdded, bytesRemoved } = diff.summary;
      const bytes =
        bytesAdded !== undefined
          ? `; ${formatBytes(bytesAdded)} added, ${formatBytes(bytesRemoved ?? 0)} removed`
          : "";
      lines.push(`${added} added, ${removed} removed, ${changed} changed${bytes}`);
      return lines.join("\n");
    },
  );
}
