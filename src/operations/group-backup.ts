// backup --group: every member of a group is captured from one barrier (all
// captures start together, so their consistent points are as close as the
// engines allow), each snapshot tagged `bundle:<id>` and `group:<name>`, and
// the bundle record is written last, only once every member's snapshot is
// committed: a bundle either names a snapshot of every member or does not
// exist (the commit-point-last rule, one level up).

import type { Bundle, BundleMember } from "../domain/bundle.ts";
import { BUNDLE_SCHEMA, bundleTag, spreadOf } from "../domain/bundle.ts";
import type { SourceConfig } from "../engines/config.ts";
import { LifeboatError } from "../errors.ts";
import { backupSource, captureVariantsOf, type BackupResult } from "./backup.ts";
import { noProgress, type OperationContext } from "./context.ts";
import { recorded, runRecordId } from "./run-record.ts";

export interface GroupBackupResult {
  readonly results: readonly BackupResult[];
  readonly failures: readonly { readonly source: string; readonly error: LifeboatError }[];
  /** Recorded only when every member succeeded. */
  readonly bundle: Bundle | null;
}

export async function backupGroup(
  context: OperationContext,
  group: string,
  members: readonly (readonly [string, SourceConfig])[],
  tags: readonly string[],
): Promise<GroupBackupResult> {
  const startedAt = context.now();
  const id = runRecordId(startedAt);
  const bundleTags = [...tags, bundleTag(id), `group:${group}`];
  // Captures run side by side: one progress bar cannot show them, the log does.
  const quiet: OperationContext = { ...context, progress: noProgress };
  const captures = members.flatMap(([name, source]) =>
    captureVariantsOf(context, source).map((variant) => ({ name, variant })),
  );
  context.log.info(
    `backing up group ${group} (${members.map(([name]) => name).join(", ")}) from one barrier, bundle ${id}`,
  );
  const settled = await Promise.allSettled(
    captures.map(({ name, variant }) =>
      recorded(
        quiet,
        { operation: "backup", source: name },
        () => backupSource(quiet, name, variant, { tags: bundleTags }),
        (done) => ({
          snapshot: done.snapshot.id,
          bytesRead: done.stats.bytesRead,
          bytesStored: done.stats.bytesStored,
        }),
      ),
    ),
  );
  const results: BackupResult[] = [];
  const failures: { source: string; error: LifeboatError }[] = [];
  settled.forEach((outcome, index) => {
    const { name } = captures[index]!;
    if (outcome.status === "fulfilled") results.push(outcome.value);
    else {
      const error =
        outcome.reason instanceof LifeboatError
          ? outcome.reason
          : new LifeboatError("INTERNAL", String(outcome.reason));
      context.log.error(`backup of ${name} (group ${group}) failed: [${error.code}] ${error.message}`);
      failures.push({ source: name, error });
    }
  });
  if (failures.length > 0) {
    context.log.warn(
      `group ${group}: no bundle recorded (${failures.length} of ${captures.length} captures failed); the snapshots taken stay, tagged ${bundleTag(id)}`,
    );
    return { results, failures, bundle: null };
  }
  const bundleMembers: BundleMember[] = results.map((result) => ({
    source: result.source,
    snapshot: result.snapshot.id,
    consistentAt: result.snapshot.consistentAt,
  }));
  const bundle: Bundle = {
    schema: BUNDLE_SCHEMA,
    id,
    group,
    startedAt: startedAt.toISOString(),
    finishedAt: context.now().toISOString(),
    members: bundleMembers,
    spreadSeconds: spreadOf(bundleMembers),
  };
  await context.repository.saveBundle(bundle);
  return { results, failures, bundle };
}
