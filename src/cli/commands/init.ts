// lifeboat init: create the repository named in lifeboat.yaml.

import { readRepositoryPassword } from "../../config/password.ts";
import { initRepository } from "../../repository/repository.ts";
import { loadSessionConfig, openStorage, type CommandEnv } from "../session.ts";

export async function initCommand(env: CommandEnv): Promise<void> {
  const { config } = await loadSessionConfig(env);
  const password = await readRepositoryPassword(config.repository);
  const backend = openStorage(config.repository.url);
  try {
    const repository = await initRepository(backend, { password });
    const keys = await repository.listKeys();
    const result = {
      repository: repository.location,
      id: repository.config.id,
      version: repository.config.version,
      encryption: repository.config.encryption,
      keys: keys.map((key) => key.id),
    };
    await repository.close();
    env.output.result(result, () =>
      [
        `created repository ${result.id.slice(0, 8)} at ${result.repository}`,
        result.encryption === "none"
          ? "WARNING: this repository is NOT encrypted (repository.encryption: none)"
          : `encrypted with ${result.encryption}; keep the password safe: without it the data cannot be restored`,
      ].join("\n"),
    );
  } finally {
    await backend.close();
  }
}
