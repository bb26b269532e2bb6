// Lifeboat as a child of itself, for procedures a user wrote: a runbook
// drill's steps call `lifeboat ...`, a scenario's restore action runs
// `lifeboat restore ...`. This very Lifeboat is put first on their PATH, with
// the configuration and the repository's credentials (a restore cannot run
// without them, as an operator's shell could not), and nothing else of
// Lifeboat's environment (runtime/child-env.ts adds the allow-listed base).

import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { configPath } from "../config/config-path.ts";
import type { Config } from "../engines/config.ts";
import { shellQuote } from "../runtime/shell-command.ts";

/** A folder with a `lifeboat` that runs this process's Lifeboat; remove it with `dispose`. */
export async function lifeboatShim(): Promise<{ readonly dir: string; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "lifeboat-shim-"));
  const entry = resolve(process.argv[1] ?? "");
  await writeFile(
    join(dir, "lifeboat"),
    `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(entry)} "$@"\n`,
  );
  await chmod(join(dir, "lifeboat"), 0o755);
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** The variables a child that runs `lifeboat` gets: PATH with the shim first, LIFEBOAT_CONFIG, the repository's credentials. */
export function lifeboatChildVariables(
  config: Config,
  configOption: string | undefined,
  shimDir: string,
): Record<string, string> {
  const variables: Record<string, string> = {
    PATH: [shimDir, process.env.PATH ?? ""].join(delimiter),
    LIFEBOAT_CONFIG: resolve(configPath(configOption)),
  };
  const passed = [
    config.repository.password_env,
    "LIFEBOAT_CACHE_DIR",
    "LIFEBOAT_TMPDIR",
    ...(config.repository.url.startsWith("s3://")
      ? [
          "AWS_ACCESS_KEY_ID",
          "AWS_SECRET_ACCESS_KEY",
          "AWS_SESSION_TOKEN",
          "AWS_PROFILE",
          "AWS_REGION",
          "AWS_ENDPOINT_URL_S3",
        ]
      : []),
  ];
  for (const name of passed) {
    const value = name ? process.env[name] : undefined;
    if (name && value !== undefined) variables[name] = value;
  }
  return variables;
}

/** `lifeboat ARGS` as one shell word list, for runShellCommand. */
export function lifeboatCommandLine(args: readonly string[]): string {
  return ["lifeboat", ...args].map(shellQuote).join(" ");
}
