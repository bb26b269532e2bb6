// File names as raw bytes. On Linux a name is any bytes except "/" and NUL;
// it need not be UTF-8 (archives unpacked from elsewhere, Latin-1 uploads).
// A JavaScript string cannot hold such a name without changing it, so the
// files engine keeps every relative path as a Buffer from the walk through
// the archive to the restore, and turns it into text only to show it.

import { isUtf8 } from "node:buffer";

const slash = 0x2f;

/** `parent/name` for relative paths; "" is the root. */
export function childPath(parent: Buffer, name: Buffer): Buffer {
  return parent.length === 0 ? name : Buffer.concat([parent, Buffer.of(slash), name]);
}

/** The absolute path of `relative` below `root` (both raw). */
export function underRoot(root: Buffer, relative: Buffer): Buffer {
  return relative.length === 0 ? root : Buffer.concat([root, Buffer.of(slash), relative]);
}

/** Everything before the last "/", or "" (raw). */
export function parentOf(path: Buffer): Buffer {
  const index = path.lastIndexOf(slash);
  return index < 0 ? Buffer.alloc(0) : path.subarray(0, index);
}

/** Everything after the last "/" (raw). */
export function baseOf(path: Buffer): Buffer {
  return path.subarray(path.lastIndexOf(slash) + 1);
}

export function splitComponents(path: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let index = 0; index <= path.length; index++) {
    if (index === path.length || path[index] === slash) {
      parts.push(path.subarray(start, index));
      start = index + 1;
    }
  }
  return parts;
}

/** A lossless Map key for a raw path (latin1 maps each byte to one character). */
export function pathKey(path: Buffer): string {
  return path.toString("latin1");
}

/**
 * A raw name as readable text: valid UTF-8 as it is, each byte of an invalid
 * sequence as `\xNN`, so a message names the exact bytes (two names differing
 * in one bad byte never read the same).
 */
export function displayPath(path: Buffer | string): string {
  if (typeof path === "string") return path;
  if (isUtf8(path)) return path.toString("utf8");
  let text = "";
  let index = 0;
  while (index < path.length) {
    const length = sequenceLength(path[index]!);
    const sequence = path.subarray(index, index + length);
    if (length > 0 && sequence.length === length && isUtf8(sequence)) {
      text += sequence.toString("utf8");
      index += length;
    } else {
      text += `\\x${path[index]!.toString(16).padStart(2, "0")}`;
      index++;
    }
  }
  return text;
}

/** The length a UTF-8 sequence starting with `lead` claims; 0 for a byte that cannot start one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}
