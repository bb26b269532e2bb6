// Drill support for file trees: scratch directories and the source's size.

import { resolve } from "node:path";
import type { FilesSourceConfig } from "./config.ts";
import type { ScratchRequest, ScratchTarget } from "../engine.ts";
import { provisionLocalScratch } from "../local-scratch.ts";
import { walkTree } from "./walk.ts";

export function provisionFilesScratch(
  source: FilesSourceConfig,
  request: ScratchRequest,
): Promise<ScratchTarget> {
  return provisionLocalScratch(source.path, true, request, "tree", "files");
}

/**
 * Bytes of regular files under the source (each name of a hard-linked file counts, as in the
 * fingerprint's `bytes`), without following symlinks; names read as raw bytes like capture's.
 */
export async function filesSourceSize(source: FilesSourceConfig): Promise<number | undefined> {
  try {
    const entries = await walkTree(resolve(source.path), {
      onSkipped: () => {},
      onFailure: (error) => error,
    });
    return entries.reduce((total, entry) => total + (entry.type === "file" ? entry.stats.size : 0), 0);
  } catch {
    return undefined;
  }
}
