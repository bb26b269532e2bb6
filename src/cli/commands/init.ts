// lifeboat init: create the repository named in lifeboat.yaml.

import { readRepositoryPassword } from "../../config/password.ts";
import { initRepository } from "../../repository/repository.ts";
import { loadSessionConfig, openStorage, type CommandEnv } from "../session.ts";

export const SECOND_KEY_ADVICE =
  "the repository has a single key: if its key file is damaged or its password is lost, nothing can be restored. " +
  "Add a second password now and keep it apart from the first (a recovery password in a safe): " +
  '`lifeboat key add --new-password-file FILE` (docs/repository-format.md, "Key files")';

export async function initCommand(env: CommandEnv): Promise<void> {
  const { config } = await loadSessionConfig(env);
  const password = await readRepositoryPassword(config.repository);
  const backend = openStorage(config.repository);
  try {
    const repository = await initRepository(backend, { password });
    const keys = await repository.listKeys();
    const result = {
      repository: repository.location,
      id: repository.config.id,
      version: repository.config.version,
      encryption: repository.config.encryption,
      keys: keys.map((key) => key.id),
      // One key file is a single point of failure: a damaged file or a forgotten password loses everything.
      singleKey: keys.length === 1,
      ...(repository.config.encryption !== "none" ? { advice: SECOND_KEY_ADVICE } : {}),
    };
    await repository.close();
    env.output.result(result, () =>
      [
        `created repository ${result.id.slice(0, 8)} at ${result.repository}`,
        result.encryption === "none"
          ? "WARNING: this repository is NOT encrypted (repository.encryption: none)"
          : `encrypted with ${result.encryption}; keep the password safe: without it the data cannot be restored`,
        result.encryption === "none" ? "" : `WARNING: ${SECOND_KEY_ADVICE}`,
      ]
        .filter(Boolean)
        .join("\n"),
    );
  } finally {
    await backend.close();
  }
}
