// lifeboat repair config: rewrite a damaged `config` from the authenticated
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
