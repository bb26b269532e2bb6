// The environment a child process starts with. Lifeboat's own environment
// holds its secrets (LIFEBOAT_PASSWORD, the variable named by
// repository.password_env, PGPASSWORD, Slack webhook URLs, ...), so it is never
// passed on: a child gets this short allow-list plus what its caller adds for
// it (the libpq variables for pg tools, the scratch target for a drill check).

/**
 * Passed to every child:
 * - PATH: to find the tools (pg_dump, psql, sh's commands);
 * - HOME, USER, LOGNAME: who runs, and where per-user files are (~/.pgpass,
 *   ~/.pg_service.conf); runuser resets them for the user it switches to;
 * - LANG, LANGUAGE, LC_*: messages and collation the user expects;
 * - TZ: timestamps in tool output match the user's clock;
 * - TMPDIR: tools that spill to temp files (sort, pg_restore's own) use the
 *   place the user chose, not /tmp on a small root filesystem.
 * Nothing here is a credential.
 */
const baseNames = new Set(["PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR"]);

/** The allow-listed part of `env`: what every child may see. */
export function baseEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (baseNames.has(name) || name.startsWith("LC_"))) picked[name] = value;
  }
  return picked;
}

/** The base environment plus `extra`; an undefined value in `extra` removes the variable. */
export function childEnvironment(
  extra: Readonly<Record<string, string | undefined>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const result = baseEnvironment(env);
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete result[name];
    else result[name] = value;
  }
  return result;
}
