// The files markers name, read from under --root. Reads are bounded (a
// runbook names scripts and manifests, never data) and the search for a
// program by its base name skips dependency and VCS folders and stops at a
// fixed depth, so a check of a large repository stays quick.

import { open, readdir } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import type { RunbookFiles } from "./drift.ts";

/** Larger files are not what a marker means; they read as absent. */
export const maxFileBytes = 4 * 1024 * 1024;
const maxDepth = 6;
const skipped = new Set(["node_modules", ".git", ".hg", ".svn", "__pycache__", ".venv", "venv", "dist"]);

async function readBounded(path: string): Promise<string | undefined> {
  try {
    const file = await open(path, "r");
    try {
      const { size, isFile } = await file.stat().then((stat) => ({ size: stat.size, isFile: stat.isFile() }));
      if (!isFile || size > maxFileBytes) return undefined;
      return await file.readFile("utf8");
    } finally {
      await file.close();
    }
  } catch {
    return undefined;
  }
}

export function directoryFiles(root: string): RunbookFiles {
  const base = resolve(root);
  // Several markers may name the same program: walk the tree once per name.
  const searches = new Map<string, Promise<string[]>>();
  const search = async (name: string): Promise<string[]> => {
    const found: string[] = [];
    // Breadth first, so the file nearest the root comes first.
    let level = [base];
    for (let depth = 0; depth <= maxDepth && level.length > 0; depth++) {
      const next: string[] = [];
      for (const dir of level) {
        const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
        for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
          if (entry.isDirectory() && !skipped.has(entry.name)) next.push(join(dir, entry.name));
          else if (entry.isFile() && entry.name === name) found.push(relative(base, join(dir, entry.name)));
        }
      }
      level = next;
    }
    return found;
  };
  return {
    read: (path) => readBounded(resolve(base, path)),
    find(name) {
      if (!searches.has(name)) searches.set(name, search(name));
      return searches.get(name)!;
    },
  };
}
