// Names for the data a restore keeps instead of destroying it: a database
// `<name>_pre_restore_<stamp>` on the target's server, a path
// `<path>.pre_restore_<stamp>` beside the target (`pre_undo` for what an undo
// moves aside). A name a copy already has gets `_2`, `_3`: two restores in
// one second keep two copies. Only names with these markers are ever
// dropped by `preserved drop`.

import { createHash } from "node:crypto";

export type PreserveMarker = "pre_restore" | "pre_undo";

const markers: readonly PreserveMarker[] = ["pre_restore", "pre_undo"];

/** `<name>_<marker>_<stamp>`, its head shortened (with a hash of the whole name) to fit `maxBytes`. */
export function preservedDatabaseName(
  name: string,
  stamp: string,
  marker: PreserveMarker,
  maxBytes: number,
): string {
  const tail = `_${marker}_${stamp}`;
  if (Buffer.byteLength(name + tail) <= maxBytes) return name + tail;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 6);
  let head = name;
  while (Buffer.byteLength(`${head}_${hash}${tail}`) > maxBytes) head = head.slice(0, -1);
  return `${head}_${hash}${tail}`;
}

export function preservedPath(path: string, stamp: string, marker: PreserveMarker): string {
  return `${path.replace(/\/+$/, "")}.${marker}_${stamp}`;
}

/** `base`, or `base_2`, `base_3`… : the first that `taken` says is free. */
export async function firstFreeName(
  base: string,
  taken: (name: string) => Promise<boolean>,
): Promise<string> {
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}_${n}`;
    if (!(await taken(name))) return name;
  }
}

/** A name a restore or an undo gave a kept copy: the only kind `preserved drop` removes. */
export function isPreservedName(name: string): boolean {
  return markers.some((marker) => new RegExp(`[._]${marker}_\\d{8}_\\d{6}(_\\d+)?$`).test(name));
}
