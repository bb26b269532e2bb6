// What a SQLite snapshot holds, for `ls` and `diff`, from its manifest alone:
// the one artifact is the whole database file, so nothing is fetched. Tables,
// indexes, views and triggers come from `engineMeta.objects` (names and types,
// recorded at capture); snapshots taken before it was recorded list the
// fingerprint's tables. Rows are the fingerprint's; bytes are the file's, on
// one "database" entry (tables have no artifact of their own).

import type { DatabaseSync } from "node:sqlite";
import type { Snapshot } from "../../domain/snapshot.ts";
import type { SnapshotContents, SnapshotObject } from "../engine.ts";
import { databaseArtifact } from "./capture.ts";

/** One schema object as engineMeta.objects records it. */
export interface RecordedObject {
  readonly type: string;
  readonly name: string;
}

/** Names and types of the user's schema objects (sqlite_% are SQLite's own), for engineMeta. */
export function recordObjects(db: DatabaseSync): RecordedObject[] {
  return (
    db
      .prepare(
        "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name",
      )
      .all() as { type: string; name: string }[]
  ).map((row) => ({ type: row.type, name: row.name }));
}

function recordedObjects(meta: Readonly<Record<string, unknown>>): RecordedObject[] | undefined {
  const objects = meta.objects;
  if (!Array.isArray(objects)) return undefined;
  const valid = objects.every(
    (object: unknown) =>
      typeof object === "object" &&
      object !== null &&
      typeof (object as Record<string, unknown>).type === "string" &&
      typeof (object as Record<string, unknown>).name === "string",
  );
  return valid ? (objects as RecordedObject[]) : undefined;
}

export function describeSqliteSnapshot(
  snapshot: Pick<Snapshot, "artifacts" | "engineMeta" | "fingerprint">,
): SnapshotContents {
  const counts = snapshot.fingerprint.counts;
  const recorded =
    recordedObjects(snapshot.engineMeta) ??
    Object.keys(counts)
      .filter((key) => key.startsWith("rows:"))
      .map((key) => ({ type: "table", name: key.slice("rows:".length) }));
  const objects: SnapshotObject[] = recorded.map((object) => {
    const rows = object.type === "table" ? counts[`rows:${object.name}`] : undefined;
    return { type: object.type, name: object.name, ...(rows !== undefined ? { rows } : {}) };
  });
  objects.sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type.localeCompare(b.type)));
  const file = snapshot.artifacts.find((artifact) => artifact.name === databaseArtifact);
  if (file) objects.unshift({ type: "database", name: databaseArtifact, bytes: file.size });
  return { kind: "objects", objects };
}
