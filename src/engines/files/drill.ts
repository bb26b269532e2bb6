// Drill support for file trees: scratch directories and the source's size.

import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { FilesSourceConfig } from "./config.ts";
import type { ScratchRequest, ScratchTarget } from "../engine.ts";
import { provisionLocalScratch } from "../local-scratch.ts";

export function provisionFilesScratch(
  source: FilesSourceConfig,
  request: ScratchRequest,
): Promise<ScratchTarget> {
  return provisionLocalScratch(source.path, true, request, "tree", "files");
}

/** Bytes of regular files under the source, without following symlinks. */
export async function filesSourceSize(source: FilesSourceConfig): Promise<number | undefined> {
  try {
    let total = 0;
    for (const entry of await readdir(source.path, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) total += (await lstat(join(entry.parentPath, entry.name))).size;
    }
    return total;
  } catch {
    return undefined;
  }
}
