// lifeboat ls SNAPSHOT [PATH]: what a snapshot holds, from its metadata only
// (a tree's index, a dump's table of contents, the fingerprint), never its data.

import type { SnapshotContents, SnapshotObject, TreeListingEntry } from "../../engines/engine.ts";
import { describeSnapshot, selectSnapshot } from "../../operations/inspect.ts";
import { formatBytes, table } from "../output.ts";
import { withRepository, type CommandEnv } from "../session.ts";

export interface LsFlags {
  readonly source?: string;
  readonly long?: boolean;
}

/** Entries at PATH or below it ("img/2024" takes img/2024 and everything in it). */
function underPath(entries: readonly TreeListingEntry[], path: string | undefined): TreeListingEntry[] {
  const prefix = path?.replace(/^\.?\/+/, "").replace(/\/+$/, "");
  if (!prefix) return [...entries];
  return entries.filter((entry) => entry.path === prefix || entry.path.startsWith(`${prefix}/`));
}

/** Objects named PATH, or in schema PATH ("billing" takes billing.invoices). */
function matchingObjects(objects: readonly SnapshotObject[], path: string | undefined): SnapshotObject[] {
  if (!path) return [...objects];
  return objects.filter((object) => object.name === path || object.name.startsWith(`${path}.`));
}

const typeLetters: Record<TreeListingEntry["type"], string> = {
  dir: "d",
  file: "-",
  symlink: "l",
  hardlink: "h",
};

/** `drwxr-xr-x`, as ls -l writes a mode. */
export function modeString(type: TreeListingEntry["type"], mode: number): string {
  const bits = ["r", "w", "x"];
  let text = typeLetters[type];
  for (let shift = 8; shift >= 0; shift--) text += mode & (1 << shift) ? bits[(8 - shift) % 3] : "-";
  return text;
}

function treeText(entries: readonly TreeListingEntry[], long: boolean): string {
  if (entries.length === 0) return "no entries";
  const name = (entry: TreeListingEntry) =>
    `${entry.path}${entry.type === "dir" ? "/" : ""}${entry.linkTarget ? ` -> ${entry.linkTarget}` : ""}`;
  if (!long) return entries.map(name).join("\n");
  return table(
    ["MODE", "UID", "GID", "SIZE", "MODIFIED", "PATH"],
    entries.map((entry) => [
      modeString(entry.type, entry.mode),
      String(entry.uid),
      String(entry.gid),
      entry.type === "file" || entry.type === "hardlink" ? String(entry.size) : "",
      entry.mtime.replace(".000Z", "Z"),
      name(entry),
    ]),
  );
}

function objectsText(objects: readonly SnapshotObject[]): string {
  if (objects.length === 0) return "no objects";
  return table(
    ["TYPE", "NAME", "ROWS", "DATA"],
    objects.map((object) => [
      object.type,
      object.name,
      object.rows !== undefined ? String(object.rows) : "",
      object.bytes !== undefined ? formatBytes(object.bytes) : "",
    ]),
  );
}

export async function lsCommand(
  env: CommandEnv,
  selector: string,
  path: string | undefined,
  flags: LsFlags,
): Promise<void> {
  const { snapshot, contents } = await withRepository(env, null, async (context) => {
    const snapshot = await selectSnapshot(context, selector, flags.source);
    return { snapshot, contents: await describeSnapshot(context, snapshot) };
  });
  const listed: SnapshotContents =
    contents.kind === "tree"
      ? { kind: "tree", entries: underPath(contents.entries, path) }
      : { kind: "objects", objects: matchingObjects(contents.objects, path) };
  const artifacts = snapshot.artifacts.map(({ name, size }) => ({ name, size }));
  env.output.result(
    {
      snapshot: snapshot.id,
      source: snapshot.source,
      engine: snapshot.engine,
      consistentAt: snapshot.consistentAt,
      ...(path !== undefined ? { path } : {}),
      ...listed,
      artifacts,
    },
    () => {
      const heading = `snapshot ${snapshot.id.slice(0, 8)} of ${snapshot.source} (${snapshot.engine}, ${snapshot.consistentAt})`;
      const body =
        listed.kind === "tree" ? treeText(listed.entries, flags.long === true) : objectsText(listed.objects);
      const stored = artifacts.map((artifact) => `  ${artifact.name}  ${formatBytes(artifact.size)}`);
      return listed.kind === "tree"
        ? `${heading}\n${body}`
        : `${heading}\n${body}\nartifacts:\n${stored.join("\n")}`;
    },
  );
}
