// The repository password comes from an environment variable or a key file,
// never from the command line (it would show in `ps` and shell history).
// Once read, it is registered with the redaction step so its value never
// reaches an output (runtime/redact.ts).

import { readFile } from "node:fs/promises";
import { LifeboatError } from "../errors.ts";
import { registerSecret } from "../runtime/redact.ts";
import type { RepositoryConfig } from "./schema.ts";

/** The password, or null for a deliberately unencrypted repository. */
export async function readRepositoryPassword(
  repository: RepositoryConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | null> {
  if (repository.encryption === "none") return null;
  if (repository.password_env) {
    const value = env[repository.password_env];
    if (value) {
      registerSecret(value);
      return value;
    }
    if (!repository.password_file) {
      throw new LifeboatError(
        "PASSWORD_MISSING",
        value === undefined
          ? `environment variable ${repository.password_env} is not set`
          : `environment variable ${repository.password_env} is set but empty`,
      );
    }
  }
  if (repository.password_file) {
    let text: string;
    try {
      text = await readFile(repository.password_file, "utf8");
    } catch (error) {
      throw new LifeboatError("PASSWORD_MISSING", `cannot read password file ${repository.password_file}`, {
        cause: error,
      });
    }
    const password = text.split(/\r?\n/)[0] ?? "";
    if (password) {
      registerSecret(password);
      return password;
    }
    throw new LifeboatError("PASSWORD_MISSING", `password file ${repository.password_file} is empty`);
  }
  throw new LifeboatError("PASSWORD_MISSING", "no password source is configured for the repository");
}
