// A partial restore of a tree (`restore uploads --include 'img/2024/**'`):
// the tree index says which entries match and where their bytes lie in
// tree.tar, so only those byte ranges are fetched (and, in a format-2
// repository, only the chunks under them). What is fetched is a valid
// archive of its own: the root, the chosen entries, the directories above
// them and the files their hard links name, in archive order, then the end
// marker; the same extractor restores it as it restores a whole tree.
//
// Verification: the index is authenticated as an artifact, and before it is
// trusted the fingerprint it implies must equal the snapshot's (so it
// describes exactly the archive that was backed up). The restored copy is
// then fingerprinted and must equal the fingerprint of the chosen entries as
// the index records them: every file's content digest, mode and size.

import { Readable } from "node:stream";
import picomatch from "picomatch";
import { readRanges, type ByteRange } from "../../domain/artifacts.ts";
import { compareFingerprints } from "../../domain/fingerprint.ts";
import { LifeboatError } from "../../errors.ts";
import type { PartialRestoreSummary, RestoreInput, RestoreSelection, VerifyScope } from "../engine.ts";
import { endOfArchive } from "./archive-entry.ts";
import { treeArtifact } from "./capture.ts";
import { displayPath, parentOf } from "./raw-path.ts";
import { treeFingerprint } from "./tree-hash.ts";
import { indexRecords, treeIndexArtifact, type TreeIndexEntry, decodeTreeIndex } from "./tree-index.ts";

export interface PartialTree {
  /** A tar stream of the chosen entries, for extractTree. */
  readonly archive: Readable;
  readonly scope: VerifyScope;
  readonly summary: PartialRestoreSummary;
}

/** The snapshot's tree index, read and decoded; undefined for a snapshot taken before indexes existed. */
export async function readTreeIndex(
  input: Pick<RestoreInput, "artifacts">,
): Promise<TreeIndexEntry[] | undefined> {
  if (!input.artifacts.artifacts.some((artifact) => artifact.name === treeIndexArtifact)) return undefined;
  const parts: Buffer[] = [];
  for await (const data of input.artifacts.open(treeIndexArtifact)) parts.push(data as Buffer);
  return decodeTreeIndex(Buffer.concat(parts));
}

/** A path as patterns see it: UTF-8 text ("/"-separated, no leading "./"). */
function textOf(path: Buffer): string {
  return path.toString("utf8");
}

/** The path and every directory above it, nearest first ("a/b/c" -> a/b/c, a/b, a). */
function selfAndAncestors(path: Buffer): Buffer[] {
  const chain: Buffer[] = [];
  for (let current = path; current.length > 0; current = parentOf(current)) chain.push(current);
  return chain;
}

function matcher(patterns: readonly string[] | undefined): ((path: Buffer) => boolean) | undefined {
  if (!patterns || patterns.length === 0) return undefined;
  for (const pattern of patterns) {
    if (pattern.trim() === "" || pattern.startsWith("/")) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `path pattern ${JSON.stringify(pattern)}: patterns are relative to the tree's root (e.g. 'img/2024/**')`,
      );
    }
  }
  const test = picomatch(
    patterns.map((pattern) => pattern.replace(/^\.\//, "").replace(/\/$/, "")),
    { dot: true },
  );
  // A pattern naming a directory takes everything below it, as restic's --include does.
  return (path) => selfAndAncestors(path).some((candidate) => test(textOf(candidate)));
}

/** Which entries a selection restores, with what they need (parent directories, hard-link targets). */
export function chooseEntries(
  entries: readonly TreeIndexEntry[],
  selection: RestoreSelection,
): { chosen: TreeIndexEntry[]; dependencies: string[] } {
  const include = matcher(selection.include);
  const exclude = matcher(selection.exclude);
  const byPath = new Map(entries.map((entry) => [entry.path.toString("latin1"), entry]));
  const wanted = new Set<TreeIndexEntry>();
  const dependencies: string[] = [];
  const add = (entry: TreeIndexEntry, why?: string) => {
    if (wanted.has(entry)) return;
    wanted.add(entry);
    if (why) dependencies.push(`${displayPath(entry.path)} ${why}`);
  };
  for (const entry of entries) {
    if (entry.path.length === 0) continue;
    if (include && !include(entry.path)) continue;
    if (exclude?.(entry.path)) continue;
    add(entry);
  }
  if (wanted.size === 0) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      "no path of the snapshot matches the --include/--exclude patterns",
      {
        details: { include: selection.include ?? [], exclude: selection.exclude ?? [] },
        hint: "`lifeboat ls SNAPSHOT` lists the snapshot's paths; patterns are relative to the tree's root, e.g. 'img/2024/**'.",
      },
    );
  }
  for (const entry of [...wanted]) {
    if (entry.type === "hardlink" && entry.link) {
      const first = byPath.get(entry.link.toString("latin1"));
      if (first && !wanted.has(first)) add(first, `(hard-linked as ${displayPath(entry.path)})`);
    }
  }
  for (const entry of [...wanted]) {
    for (const directory of selfAndAncestors(parentOf(entry.path))) {
      const above = byPath.get(directory.toString("latin1"));
      if (above) wanted.add(above); // a parent directory is structure, not worth naming
    }
  }
  const root = entries.find((entry) => entry.path.length === 0);
  if (root) wanted.add(root);
  // Archive order: a directory before what is in it, a file before its hard links.
  return { chosen: [...wanted].sort((left, right) => left.offset - right.offset), dependencies };
}

export async function partialTree(input: RestoreInput, selection: RestoreSelection): Promise<PartialTree> {
  if (selection.tables || selection.schemas) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      "--table and --schema are for databases; a tree takes --include and --exclude",
    );
  }
  if (!input.fingerprint)
    throw new LifeboatError("INTERNAL", "a partial files restore needs the snapshot's fingerprint");
  const entries = await readTreeIndex(input);
  if (!entries) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      "this snapshot has no tree index (an older Lifeboat took it), so it restores only whole",
      {
        hint: "Restore it whole into a scratch directory and copy what you need; snapshots taken from now on restore in part.",
      },
    );
  }
  const differences = compareFingerprints(input.fingerprint, treeFingerprint(indexRecords(entries)));
  if (differences.length > 0) {
    throw new LifeboatError(
      "CHECKSUM_MISMATCH",
      "the snapshot's tree index does not describe its archive (its fingerprint differs)",
      {
        details: { differences: differences.slice(0, 10) },
        hint: "Run `lifeboat check --read-data`; restore the snapshot whole meanwhile.",
      },
    );
  }
  const { chosen, dependencies } = chooseEntries(entries, selection);
  const ranges: ByteRange[] = chosen.map((entry) => ({ offset: entry.offset, length: entry.length }));
  async function* archive(): AsyncGenerator<Buffer> {
    yield* readRanges(input.artifacts, treeArtifact, ranges);
    yield endOfArchive;
  }
  const records = indexRecords(chosen);
  const files = records.filter((record) => record.type === "file");
  return {
    archive: Readable.from(archive(), { objectMode: false }),
    // The copy must equal what the index says of exactly these entries: the whole of its fingerprint.
    scope: { expected: treeFingerprint(records), covers: () => true },
    summary: {
      entries: records.length,
      bytes: files.reduce((sum, record) => sum + record.size, 0),
      ...(dependencies.length > 0 ? { dependencies } : {}),
    },
  };
}
