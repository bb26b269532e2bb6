// Snapshot tags: what a user may write (`backup --tag`, `tag add|remove`),
// which prefixes Lifeboat keeps for itself, and how `snapshots --tag` filters.

import { LifeboatError } from "../errors.ts";
import { BUNDLE_TAG_PREFIX } from "./bundle.ts";

/** A tag: a word a shell and a YAML list keep as is (restic allows anything but commas; this is stricter). */
const TAG = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,63}$/;

/**
 * Prefixes of the tags Lifeboat sets itself: `bundle:<id>` makes retention
 * keep a bundle whole (domain/bundle.ts); `group:` is kept for the same kind
 * of bookkeeping. A user adding or removing one could split a bundle.
 */
export const INTERNAL_TAG_PREFIXES: readonly string[] = [BUNDLE_TAG_PREFIX, "group:"];

/** The tags, each checked to be a plain word; `flag` names where they came from in the error. */
export function validTags(tags: readonly string[], flag = "--tag"): string[] {
  for (const tag of tags) {
    if (!TAG.test(tag)) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `${flag} ${JSON.stringify(tag)}: a tag is 1 to 64 letters, digits and . _ : @ / + - (starting with a letter or digit)`,
        { details: { flag, value: tag } },
      );
    }
  }
  return [...tags];
}

/** Refuse tags only Lifeboat may set or remove. */
export function refuseInternalTags(tags: readonly string[], flag: string): void {
  for (const tag of tags) {
    const prefix = INTERNAL_TAG_PREFIXES.find((candidate) => tag.startsWith(candidate));
    if (prefix !== undefined) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `${flag} ${JSON.stringify(tag)}: tags starting with ${prefix} are Lifeboat's own (they keep bundles whole) and cannot be added or removed`,
        { details: { flag, value: tag } },
      );
    }
  }
}

/** The tags after a change: sorted and unique, as backup stores them. */
export function changedTags(
  current: readonly string[],
  change: { readonly add?: readonly string[]; readonly remove?: readonly string[] },
): string[] {
  const removed = new Set(change.remove ?? []);
  return [...new Set([...current, ...(change.add ?? [])])].filter((tag) => !removed.has(tag)).sort();
}

/**
 * `snapshots --tag a,b --tag c`: each --tag value is a comma-separated set of
 * tags a snapshot must all have; repeated --tag values are alternatives (any
 * one set suffices), as restic's --tag. No filter matches every snapshot.
 */
export function parseTagFilter(values: readonly string[]): string[][] {
  return values.map((value) => {
    const tags = value.split(",");
    if (tags.some((tag) => tag === "")) {
      throw new LifeboatError("BAD_ARGUMENT", `--tag ${JSON.stringify(value)}: an empty tag in the list`, {
        details: { flag: "--tag", value },
      });
    }
    return tags;
  });
}

export function matchesTagFilter(tags: readonly string[], filter: readonly (readonly string[])[]): boolean {
  if (filter.length === 0) return true;
  const have = new Set(tags);
  return filter.some((all) => all.every((tag) => have.has(tag)));
}
