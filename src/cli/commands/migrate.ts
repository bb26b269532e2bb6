// lifeboat migrate [--dry-run]: convert a format 1 repository to format 2
// in place (repository/migrate.ts says in what order, and why a killed
// migration is safe). Exclusive lock: nothing may write chunks meanwhile.

import { withRepository, type CommandEnv } from "../session.ts";

export async function migrateCommand(env: CommandEnv, flags: { dryRun?: boolean }): Promise<void> {
  const dryRun = !!flags.dryRun;
  const lock = dryRun
    ? { kind: "shared" as const, command: "migrate --dry-run" }
    : { kind: "exclusive" as const, command: "migrate" };
  const result = await withRepository(env, lock, async (context) => {
    let shown = -1;
    const onProgress = (done: number, total: number) => {
      if (shown < 0) context.progress.start("migrate", total);
      else context.progress.advance(done - shown);
      shown = done;
    };
    try {
      return await context.repository.migrate({
        dryRun,
        onProgress,
        ...(context.signal ? { signal: context.signal } : {}),
      });
    } finally {
      if (shown >= 0) context.progress.stop();
    }
  });
  env.output.result(result, () => {
    if (result.from >= 2) {
      return result.chunks === 0
        ? "the repository is already format 2; nothing to migrate"
        : `the repository is already format 2; ${dryRun ? "would remove" : "removed"} ${result.chunks} format 1 chunk object(s) an interrupted migration left`;
    }
    if (dryRun)
      return `dry run: ${result.chunks} chunk object(s) (${result.bytesBefore} bytes) would be packed; nothing was changed`;
    return `migrated to format 2: ${result.chunks} chunk object(s) (${result.bytesBefore} bytes) packed into ${result.packs} pack(s) (${result.bytesAfter} bytes); snapshot ids are unchanged`;
  });
}
