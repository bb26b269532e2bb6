// Finding a group's bundle: the newest one by default, or one named by id
// (or unique prefix). Only complete bundle records exist (group-backup.ts),
// and retention keeps their snapshots whole (plan/bundles.ts). A bundle
// record is immutable and names its members' first snapshot ids; a member
// whose tags were changed since (`lifeboat tag`) has a new id and records the
// first one as `original`, so the bundle found here names the current ids.

import { parseBundle, type Bundle } from "../domain/bundle.ts";
import { LifeboatError } from "../errors.ts";
import type { OperationContext } from "./context.ts";

export async function bundlesOf(context: OperationContext, group: string): Promise<Bundle[]> {
  const all = (await context.repository.listBundles()).map(parseBundle);
  return all
    .filter((bundle): bundle is Bundle => bundle?.group === group)
    .sort((a, b) => a.id.localeCompare(b.id));
}

export async function findBundle(
  context: OperationContext,
  group: string,
  selector = "latest",
): Promise<Bundle> {
  const bundles = await bundlesOf(context, group);
  const found =
    selector === "latest" ? bundles.at(-1) : bundles.filter((bundle) => bundle.id.startsWith(selector));
  const bundle = Array.isArray(found) ? (found.length === 1 ? found[0] : undefined) : found;
  if (!bundle) {
    throw new LifeboatError(
      "SNAPSHOT_NOT_FOUND",
      Array.isArray(found) && found.length > 1
        ? `bundle ${selector} of group ${group} is ambiguous (${found.length} match)`
        : `no bundle ${selector === "latest" ? "" : `${selector} `}of group ${group} in the repository`,
      { hint: `Take one with: lifeboat backup --group ${group}` },
    );
  }
  return currentMembers(context, bundle);
}

/** The bundle with each member that no longer exists under its id replaced by the snapshot retagged from it. */
async function currentMembers(context: OperationContext, bundle: Bundle): Promise<Bundle> {
  const snapshots = await context.repository.listSnapshots();
  const present = new Set(snapshots.map((snapshot) => snapshot.id));
  if (bundle.members.every((member) => present.has(member.snapshot))) return bundle;
  const byOriginal = new Map(
    snapshots.flatMap((snapshot) =>
      snapshot.original === undefined ? [] : [[`${snapshot.source}\n${snapshot.original}`, snapshot.id]],
    ),
  );
  return {
    ...bundle,
    members: bundle.members.map((member) => {
      const current = present.has(member.snapshot)
        ? undefined
        : byOriginal.get(`${member.source}\n${member.snapshot}`);
      // Not found at all: left as recorded, and restoring it fails naming that id.
      return current === undefined ? member : { ...member, snapshot: current };
    }),
  };
}
