// lifeboat repair config | index.
//
// repair config: rewrite a damaged `config` from the authenticated
// copy sealed in the key files (docs/repository-format.md, "Recovering a
// damaged config"). The repository password proves the copy: only a key file
// it opens is used, so a damaged or forged config is never "repaired" into
// another repository's.

import { withRepository, type CommandEnv } from "../session.ts";

export async function repairConfigCommand(env: CommandEnv): Promise<void> {
  const result = await withRepository(
    env,
    { kind: "exclusive", command: "repair config" },
    async (context) => {
      const damage = context.repository.damage.config;
      const repaired = await context.repository.repairConfig();
      return { repaired, from: damage?.recoveredFrom ?? null, problem: damage?.message ?? null };
    },
  );
  env.output.result(result, () =>
    result.repaired
      ? `rewrote config from the authenticated copy in ${result.from}; run \`lifeboat check\` to confirm`
      : "config is intact; nothing to repair",
  );
}

/**
 * lifeboat repair index: rebuild the format 2 index from the packs' own
 * headers (a lost or damaged index object). Exclusive lock: a backup must
 * not add an index object while every old one is being replaced.
 */
export async function repairIndexCommand(env: CommandEnv, flags: { dryRun?: boolean }): Promise<void> {
  const dryRun = !!flags.dryRun;
  const lock = dryRun
    ? { kind: "shared" as const, command: "repair index --dry-run" }
    : { kind: "exclusive" as const, command: "repair index" };
  const result = await withRepository(env, lock, (context) =>
    context.repository.repairIndex({ dryRun, ...(context.signal ? { signal: context.signal } : {}) }),
  );
  for (const damage of result.unreadable) env.log.warn(`${damage.message} [${damage.code}]`);
  env.output.result(result, () => {
    const what = `${result.packs} pack(s) holding ${result.chunks} chunk(s)`;
    const lines = [
      dryRun
        ? `dry run: a new index would list ${what}, replacing ${result.indexObjectsReplaced} index object(s); nothing was written`
        : `wrote a new index of ${what}, replacing ${result.indexObjectsReplaced} index object(s); run \`lifeboat check\` to confirm`,
    ];
    if (result.unreadable.length > 0)
      lines.push(
        `${result.unreadable.length} object(s) under data/ have no readable pack header and were left alone`,
      );
    return lines.join("\n");
  });
  if (result.unreadable.length > 0) process.exitCode = 6;
}
