// Where each kind of object lives in a repository (docs/repository-format.md,
// "Layout"): one definition of every folder and key shape, shared by the
// readers, the writers, check, prune and migrate.

export const DATA_PREFIX = "data/";
export const SNAPSHOTS_PREFIX = "snapshots/";
/** Format 2: which chunks are in which packs. */
export const INDEX_PREFIX = "index/";
/** Folders of JSON documents kept beside the snapshots (drill reports, run records). */
export const DOCUMENT_FOLDERS = ["drills", "runs", "bundles"] as const;
export type DocumentFolder = (typeof DOCUMENT_FOLDERS)[number];

/** A format 1 chunk object, or (the same shape) a format 2 pack: data/<id[0:2]>/<id>. */
export function dataKey(id: string): string {
  return `${DATA_PREFIX}${id.slice(0, 2)}/${id}`;
}

/** The object of a format 1 chunk. */
export const chunkKey = dataKey;
/** The object of a format 2 pack. */
export const packKey = dataKey;

export function snapshotKey(id: string): string {
  return SNAPSHOTS_PREFIX + id;
}

export function indexKey(id: string): string {
  return INDEX_PREFIX + id;
}

/** The id the last segment of a key names (data/ab/ab12... -> ab12..., index/ff.. -> ff..). */
export function idOfKey(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}

/** A data/ key Lifeboat itself writes: data/<2 hex>/<64 hex> with matching prefix. */
export function isDataKey(key: string): boolean {
  return /^data\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(key) && key.slice(5, 7) === key.slice(8, 10);
}
