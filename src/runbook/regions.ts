// Generated regions of a rendered runbook, and how a re-render merges into a
// file the team has been editing. Each region sits between
//   <!-- lifeboat:begin ID sha256=HASH -->  and  <!-- lifeboat:end ID -->
// where HASH is the SHA-256 of the region's text as Lifeboat wrote it. A
// re-render replaces a region whose text still has that hash, leaves all text
// outside regions exactly as it is, and refuses (unless forced) to overwrite a
// region someone edited by hand: nothing a person wrote is lost silently.

import { createHash } from "node:crypto";
import { LifeboatError } from "../errors.ts";

export interface Region {
  /** Stable across renders: "objectives", "restore:app-db". */
  readonly id: string;
  /** Markdown, ending without a newline. */
  readonly body: string;
}

interface FoundRegion {
  readonly id: string;
  readonly recordedHash: string | undefined;
  readonly body: string;
  /** Offsets of the whole region (begin marker to end of end marker) in the file. */
  readonly start: number;
  readonly end: number;
  /** 1-based line of the begin marker. */
  readonly line: number;
}

export interface MergeResult {
  readonly text: string;
  readonly updated: readonly string[];
  readonly unchanged: readonly string[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Regions edited by hand that were overwritten because of `force`. */
  readonly overwritten: readonly string[];
}

const beginPattern = /<!-- lifeboat:begin (\S+?)(?: sha256=([0-9a-f]{64}))? -->\n/g;

export function regionHash(body: string): string {
  return createHash("sha256").update(body).digest("hex");
}

export function renderRegion(region: Region): string {
  return `<!-- lifeboat:begin ${region.id} sha256=${regionHash(region.body)} -->\n${region.body}\n<!-- lifeboat:end ${region.id} -->`;
}

/** A new runbook: the regions in order, with hand-written sections where the skeleton puts them. */
export function renderDocument(parts: readonly (Region | { readonly handWritten: string })[]): string {
  return (
    parts.map((part) => ("handWritten" in part ? part.handWritten : renderRegion(part))).join("\n\n") + "\n"
  );
}

export function findRegions(text: string, file: string): FoundRegion[] {
  const found: FoundRegion[] = [];
  for (const match of text.matchAll(beginPattern)) {
    const id = match[1]!;
    const bodyStart = match.index + match[0].length;
    const endMarker = `\n<!-- lifeboat:end ${id} -->`;
    const bodyEnd = text.indexOf(endMarker, bodyStart - 1);
    const line = text.slice(0, match.index).split("\n").length;
    if (bodyEnd < 0) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `${file}:${line}: the generated region ${id} has no end marker (<!-- lifeboat:end ${id} -->)`,
        { hint: "Put the end marker back (or delete the begin marker), then render again." },
      );
    }
    const previous = found.at(-1);
    if (previous && match.index < previous.end) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `${file}:${line}: region ${id} begins inside region ${previous.id}`,
      );
    }
    if (found.some((region) => region.id === id)) {
      throw new LifeboatError("BAD_ARGUMENT", `${file}:${line}: region ${id} appears twice`, {
        hint: "Delete one of the two copies, then render again.",
      });
    }
    found.push({
      id,
      recordedHash: match[2],
      body: text.slice(bodyStart, Math.max(bodyStart, bodyEnd)),
      start: match.index,
      end: bodyEnd + endMarker.length,
      line,
    });
  }
  return found;
}

/**
 * Merge a fresh render into an existing runbook. Regions keep their place; a
 * new region goes after the region rendered before it (or at the end); a
 * region no longer rendered (a removed source) is taken out.
 */
export function mergeRegions(
  existing: string,
  rendered: readonly Region[],
  options: { readonly file: string; readonly force: boolean },
): MergeResult {
  const found = findRegions(existing, options.file);
  const edited = found.filter(
    (region) => region.recordedHash !== undefined && regionHash(region.body) !== region.recordedHash,
  );
  const renderedIds = new Set(rendered.map((region) => region.id));
  const conflicting = edited.filter(
    (region) =>
      !renderedIds.has(region.id) ||
      regionHash(rendered.find((r) => r.id === region.id)!.body) !== regionHash(region.body),
  );
  if (conflicting.length > 0 && !options.force) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `${conflicting.map((region) => `${options.file}:${region.line}: region ${region.id}`).join("; ")} ${
        conflicting.length === 1 ? "was" : "were"
      } edited by hand since Lifeboat wrote ${conflicting.length === 1 ? "it" : "them"}; rendering would overwrite that text`,
      {
        details: { regions: conflicting.map((region) => region.id) },
        hint: "Move your text outside the lifeboat:begin/end markers (text there is kept), or pass --force to overwrite it.",
      },
    );
  }

  const byId = new Map(found.map((region) => [region.id, region]));
  const replacement = new Map<string, string>();
  const updated: string[] = [];
  const unchanged: string[] = [];
  for (const region of rendered) {
    const old = byId.get(region.id);
    if (!old) continue;
    replacement.set(region.id, renderRegion(region));
    (old.body === region.body && old.recordedHash !== undefined ? unchanged : updated).push(region.id);
  }
  // New regions are placed after the closest earlier rendered region that the file already holds.
  const insertAfter = new Map<string, string[]>();
  const added: string[] = [];
  let anchor: string | undefined;
  const atEnd: string[] = [];
  for (const region of rendered) {
    if (byId.has(region.id)) {
      anchor = region.id;
      continue;
    }
    added.push(region.id);
    const text = renderRegion(region);
    if (anchor === undefined) atEnd.push(text);
    else insertAfter.set(anchor, [...(insertAfter.get(anchor) ?? []), text]);
  }

  let text = "";
  let at = 0;
  const removed: string[] = [];
  for (const region of found) {
    text += existing.slice(at, region.start);
    at = region.end;
    const next = replacement.get(region.id);
    if (next === undefined) {
      removed.push(region.id);
      // Take the blank line that separated it out too, so removals leave no gaps.
      if (existing.slice(at, at + 2) === "\n\n") at += 1;
      continue;
    }
    text += next;
    for (const extra of insertAfter.get(region.id) ?? []) text += `\n\n${extra}`;
  }
  text += existing.slice(at);
  if (atEnd.length > 0) text = `${text.replace(/\n*$/, "")}\n\n${atEnd.join("\n\n")}\n`;
  return {
    text,
    updated,
    unchanged,
    added,
    removed,
    overwritten: options.force ? conflicting.map((region) => region.id) : [],
  };
}
