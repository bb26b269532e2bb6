// A bundle: the snapshots one `backup --group` took of every member of a
// group, all started from one barrier. Its record (bundles/<id> in the
// repository) names them and the spread of their consistent points; every
// member snapshot also carries the tag `bundle:<id>`, so retention can keep
// a bundle whole from the snapshot listing alone.

export const BUNDLE_SCHEMA = "lifeboat.bundle/1";
export const BUNDLE_TAG_PREFIX = "bundle:";

export interface BundleMember {
  readonly source: string;
  readonly snapshot: string;
  readonly consistentAt: string;
}

export interface Bundle {
  readonly schema: typeof BUNDLE_SCHEMA;
  readonly id: string;
  readonly group: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Every member's snapshot; a bundle is recorded only when all of them were taken. */
  readonly members: readonly BundleMember[];
  /** Seconds between the earliest and the latest consistent point of the members. */
  readonly spreadSeconds: number;
}

export function bundleTag(id: string): string {
  return `${BUNDLE_TAG_PREFIX}${id}`;
}

/** The bundle a snapshot belongs to, from its tags. */
export function bundleOfTags(tags: readonly string[]): string | undefined {
  return tags.find((tag) => tag.startsWith(BUNDLE_TAG_PREFIX))?.slice(BUNDLE_TAG_PREFIX.length);
}

/** The spread of the members' consistent points, in seconds. */
export function spreadOf(members: readonly Pick<BundleMember, "consistentAt">[]): number {
  const times = members.map((member) => Date.parse(member.consistentAt));
  return times.length === 0 ? 0 : (Math.max(...times) - Math.min(...times)) / 1000;
}

/** A bundle record read back from the repository, or undefined when it is not one. */
export function parseBundle(value: unknown): Bundle | undefined {
  const bundle = value as Partial<Bundle> | null;
  if (!bundle || bundle.schema !== BUNDLE_SCHEMA || typeof bundle.id !== "string") return undefined;
  if (typeof bundle.group !== "string" || !Array.isArray(bundle.members)) return undefined;
  return bundle as Bundle;
}
