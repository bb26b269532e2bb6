// Finding a group's bundle: the newest one by default, or one named by id
// (or unique prefix). Only complete bundle records exist (group-backup.ts),
// and retention keeps their snapshots whole (plan/bundles.ts).

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
  return bundle;
}
