// What `ls` and `diff` see of a tree snapshot: the tree index's entries,
// read without touching tree.tar. A snapshot taken before indexes existed
// is listed from its archive's headers instead (the whole archive is read,
// which `ls` says).

import type { Snapshot } from "../../domain/snapshot.ts";
import type { ArtifactSource, EngineContext, SnapshotContents, TreeListingEntry } from "../engine.ts";
import { readArchive } from "./archive-reader.ts";
import { treeArtifact } from "./capture.ts";
import { normalizeArchivePath } from "./extract.ts";
import { readTreeIndex } from "./partial.ts";
import { displayPath } from "./raw-path.ts";
import type { TreeIndexEntry } from "./tree-index.ts";

function listed(entry: TreeIndexEntry): TreeListingEntry {
  return {
    path: displayPath(entry.path),
    type: entry.type,
    mode: entry.mode,
    size: entry.size,
    mtime: new Date(entry.mtime * 1000).toISOString(),
    uid: entry.uid,
    gid: entry.gid,
    ...(entry.digest ? { digest: entry.digest } : {}),
    ...(entry.link ? { linkTarget: displayPath(entry.link) } : {}),
  };
}

export async function describeTree(
  snapshot: Snapshot,
  artifacts: ArtifactSource,
  context: EngineContext,
): Promise<SnapshotContents> {
  const index = await readTreeIndex({ artifacts });
  if (index) return { kind: "tree", entries: index.filter((entry) => entry.path.length > 0).map(listed) };
  context.log.warn(
    `snapshot ${snapshot.id.slice(0, 8)} has no tree index (an older Lifeboat took it): listing it reads its whole archive`,
  );
  const entries: TreeListingEntry[] = [];
  const sizes = new Map<string, number>();
  for await (const entry of readArchive(artifacts.open(treeArtifact))) {
    const path = normalizeArchivePath(entry.path);
    for await (const _data of entry.data); // the entry's data is not listed, only skipped
    if (path.length === 0) continue;
    const type = entry.type as TreeListingEntry["type"];
    const linked = type === "hardlink" ? normalizeArchivePath(entry.linkpath) : undefined;
    if (type === "file") sizes.set(displayPath(path), entry.size);
    entries.push({
      path: displayPath(path),
      type,
      mode: entry.mode,
      // A hard link has the size of the file it names, as the index records it.
      size: type === "file" ? entry.size : linked ? (sizes.get(displayPath(linked)) ?? 0) : 0,
      mtime: new Date(Math.floor(entry.mtime) * 1000).toISOString(),
      uid: entry.uid,
      gid: entry.gid,
      ...(entry.linkpath.length > 0
        ? {
            linkTarget: displayPath(
              entry.type === "hardlink" ? normalizeArchivePath(entry.linkpath) : entry.linkpath,
            ),
          }
        : {}),
    });
  }
  return { kind: "tree", entries };
}
