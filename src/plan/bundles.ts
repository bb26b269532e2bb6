// Retention keeps bundles whole: a snapshot that a policy would remove stays
// while any other member of its bundle stays (kept by its own source's
// policy, or untouched because no policy applies to its source). A bundle is
// restored together, so half of one is worth nothing.

import { bundleOfTags } from "../domain/bundle.ts";
import type { RetentionCandidate, RetentionPlan } from "./retention.ts";

/**
 * `plans`: the retention plans of the sources forget works on; `listing`:
 * every snapshot in the repository (of those sources and all others).
 */
export function keepBundlesWhole(
  plans: readonly RetentionPlan[],
  listing: readonly RetentionCandidate[],
): RetentionPlan[] {
  const removed = new Set(plans.flatMap((plan) => plan.remove.map(({ id }) => id)));
  const staying = new Map<string, string>(); // bundle → a snapshot of it that stays
  for (const snapshot of listing) {
    const bundle = bundleOfTags(snapshot.tags);
    if (bundle && !removed.has(snapshot.id) && !staying.has(bundle)) staying.set(bundle, snapshot.id);
  }
  const tagsOf = new Map(listing.map((snapshot) => [snapshot.id, snapshot.tags]));
  return plans.map((plan) => {
    const rescued = plan.remove.filter((snapshot) => {
      const bundle = bundleOfTags(tagsOf.get(snapshot.id) ?? []);
      return bundle !== undefined && staying.has(bundle);
    });
    if (rescued.length === 0) return plan;
    const rescuedIds = new Set(rescued.map(({ id }) => id));
    return {
      ...plan,
      keep: [
        ...plan.keep,
        ...rescued.map((snapshot) => {
          const bundle = bundleOfTags(tagsOf.get(snapshot.id) ?? [])!;
          return {
            ...snapshot,
            reasons: [
              {
                rule: "bundle" as const,
                detail: `bundle ${bundle} (snapshot ${staying.get(bundle)!.slice(0, 8)} of it stays)`,
              },
            ],
          };
        }),
      ].sort((a, b) => Date.parse(a.consistentAt) - Date.parse(b.consistentAt)),
      remove: plan.remove.filter(({ id }) => !rescuedIds.has(id)),
    };
  });
}
