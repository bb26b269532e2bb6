// What a snapshot holds, as engines describe it from its metadata (never its
// data): `ls` lists it and `diff` compares two of them (plan/snapshot-diff.ts).

/** A snapshot's contents as `ls` lists them and `diff` compares them. */
export type SnapshotContents =
  | { readonly kind: "tree"; readonly entries: readonly TreeListingEntry[] }
  | { readonly kind: "objects"; readonly objects: readonly SnapshotObject[] };

/** One entry of a file tree snapshot. */
export interface TreeListingEntry {
  /** Relative path, "/"-separated (names that are not UTF-8 are shown with U+FFFD). */
  readonly path: string;
  readonly type: "file" | "dir" | "symlink" | "hardlink";
  /** Permission bits (mode & 0o7777). */
  readonly mode: number;
  /** Content length of a file, 0 otherwise. */
  readonly size: number;
  /** Modification time, ISO-8601 (whole seconds). */
  readonly mtime: string;
  readonly uid: number;
  readonly gid: number;
  /** SHA-256 of a file's content (hex); a symlink's or hard link's target. */
  readonly digest?: string;
  readonly linkTarget?: string;
}

/** One object of a database snapshot: a table with its row count, a view, a function, ... */
export interface SnapshotObject {
  /** Lower-case kind as the engine names it: "table", "view", "sequence", "function", "index", "schema", ... */
  readonly type: string;
  /** Qualified where the engine has schemas: "billing.invoices". */
  readonly name: string;
  /** Rows at the snapshot's consistent point, from the fingerprint (tables). */
  readonly rows?: number;
  /** Bytes of the object's data in the snapshot's artifacts, where it has its own. */
  readonly bytes?: number;
}
