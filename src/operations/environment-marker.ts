// The `.env` marker lines of a directory target: the lines of every `.env` in
// the target (or the folder of a file target) and each folder above it, read
// up to the root. Only whole lines count (`APP_ENV=prod`, spaces around it
// ignored), so APP_ENV=production is not APP_ENV=prod.

import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";

export async function envFileLines(target: string): Promise<{ line: string; file: string }[]> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) return [];
  const found: { line: string; file: string }[] = [];
  let dir = resolve(target);
  for (let depth = 0; depth < 64; depth++) {
    const file = join(dir, ".env");
    const text = await readFile(file, "utf8").catch(() => undefined);
    if (text !== undefined)
      for (const line of text.split("\n")) if (line.trim() !== "") found.push({ line: line.trim(), file });
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return found;
}
