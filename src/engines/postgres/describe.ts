// What a logical snapshot holds, for `ls` and `diff`: the objects named in
// its toc.dat (the one artifact fetched), with the fingerprint's row count
// and the size of the data file for each table. No table data is read.

import type { Snapshot } from "../../domain/snapshot.ts";
import type { ArtifactSource, SnapshotContents, SnapshotObject } from "../engine.ts";
import { dumpPrefix } from "./capture.ts";
import { parseToc, qualifiedTag, type TocEntry } from "./toc-file.ts";

/** Entries that are not objects of their own: data, annotations, session settings. */
const notObjects = new Set([
  "TABLE DATA",
  "SEQUENCE SET",
  "SEQUENCE OWNED BY",
  "MATERIALIZED VIEW DATA",
  "COMMENT",
  "ACL",
  "SECURITY LABEL",
  "DEFAULT",
  "INDEX ATTACH",
  "ROW SECURITY",
  "ENCODING",
  "STDSTRINGS",
  "SEARCHPATH",
  "DATABASE",
  "DATABASE PROPERTIES",
  "BLOB",
  "BLOBS",
  "BLOB METADATA",
  "BLOB COMMENTS",
  "LARGE OBJECT",
]);
const tocName = `${dumpPrefix}toc.dat`;

export async function describeSnapshot(
  snapshot: Snapshot,
  artifacts: ArtifactSource,
): Promise<SnapshotContents> {
  if (!snapshot.artifacts.some((artifact) => artifact.name === tocName)) {
    // A physical snapshot (a base backup) has no table of contents: its tables are the fingerprint's.
    return { kind: "objects", objects: tablesOfFingerprint(snapshot) };
  }
  const parts: Buffer[] = [];
  for await (const part of artifacts.open(tocName)) parts.push(part as Buffer);
  const toc = parseToc(Buffer.concat(parts), tocName);
  return { kind: "objects", objects: describeEntries(toc.entries, snapshot) };
}

/** Pure: the objects of a TOC, with rows from the fingerprint and bytes from the artifact sizes. */
export function describeEntries(
  entries: readonly TocEntry[],
  snapshot: Pick<Snapshot, "artifacts" | "fingerprint">,
): SnapshotObject[] {
  const sizes = new Map(snapshot.artifacts.map((artifact) => [artifact.name, artifact.size]));
  const dataBytes = new Map<string, number>();
  for (const entry of entries) {
    if (entry.desc !== "TABLE DATA" || !entry.filename) continue;
    const size = sizes.get(dumpPrefix + entry.filename);
    if (size !== undefined) dataBytes.set(qualifiedTag(entry), size);
  }
  const objects: SnapshotObject[] = [];
  for (const entry of entries) {
    if (notObjects.has(entry.desc) || entry.desc.startsWith("<")) continue;
    const name = qualifiedTag(entry);
    const rows = entry.desc === "TABLE" ? snapshot.fingerprint.counts[`rows:${name}`] : undefined;
    const bytes = entry.desc === "TABLE" ? dataBytes.get(name) : undefined;
    objects.push({
      type: entry.desc.toLowerCase(),
      name,
      ...(rows !== undefined ? { rows } : {}),
      ...(bytes !== undefined ? { bytes } : {}),
    });
  }
  return objects;
}

function tablesOfFingerprint(snapshot: Pick<Snapshot, "fingerprint">): SnapshotObject[] {
  return Object.entries(snapshot.fingerprint.counts)
    .filter(([key]) => key.startsWith("rows:"))
    .map(([key, rows]) => ({ type: "table", name: key.slice("rows:".length), rows }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
