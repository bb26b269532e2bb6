// What a user's command sees. Secrets reach it only through the source's `env`
// allow-list: each named variable is read from Lifeboat's own environment,
// registered with the redaction step (so an echo of it on stderr never reaches
// a message, log or report) and passed on; nothing else of Lifeboat's
// environment is, beyond runtime/child-env.ts's base. Commands themselves must
// hold no credential: they are stored in the snapshot's engineMeta and quoted
// in messages, and a command line is visible to every user of the machine.

import { LifeboatError } from "../../errors.ts";
import { redact, registerSecret } from "../../runtime/redact.ts";

/** The actions a command runs for, in $LIFEBOAT_ACTION. */
export type CommandAction =
  "capture" | "fingerprint" | "probe" | "restore" | "scratch-create" | "scratch-destroy";

export interface ActionVariables {
  readonly action: CommandAction;
  /** What the source is (its `target` field), as LIFEBOAT_SOURCE. */
  readonly source?: string | undefined;
  /** The target acted on, as LIFEBOAT_TARGET; absent when capturing (the facts are then the source's). */
  readonly target?: string | undefined;
  /** More LIFEBOAT_* variables: LIFEBOAT_CAPTURE_DIR, LIFEBOAT_RESTORE_DIR, LIFEBOAT_SCRATCH_LABEL. */
  readonly extra?: Readonly<Record<string, string>>;
}

/**
 * The values of the allow-listed variables, from Lifeboat's environment. A
 * name that is not set is BAD_CONFIG (the config promises a variable the
 * command will rely on; running it without would fail in a less clear way,
 * or worse, talk to the service unauthenticated).
 */
export function allowListedValues(
  names: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const values: Record<string, string> = {};
  const missing = names.filter((name) => env[name] === undefined);
  if (missing.length > 0) {
    throw new LifeboatError(
      "BAD_CONFIG",
      `the source's env names ${missing.join(", ")}, which ${missing.length === 1 ? "is" : "are"} not set in Lifeboat's environment`,
      {
        details: { variables: missing },
        hint: "Set each variable in the environment Lifeboat runs in (a systemd EnvironmentFile, a Kubernetes Secret), or remove it from the source's env list.",
      },
    );
  }
  for (const name of names) {
    const value = env[name]!;
    registerSecret(value); // too short a value (< 4 characters) is not redacted by value: see redact.ts
    values[name] = value;
  }
  return values;
}

/** The environment for one command: the allow-listed values plus this action's LIFEBOAT_* variables. */
export function commandEnvironment(
  allowListed: Readonly<Record<string, string>>,
  variables: ActionVariables,
): Record<string, string> {
  return {
    ...allowListed,
    LIFEBOAT_ACTION: variables.action,
    ...(variables.source !== undefined ? { LIFEBOAT_SOURCE: variables.source } : {}),
    ...(variables.target !== undefined ? { LIFEBOAT_TARGET: variables.target } : {}),
    ...variables.extra,
  };
}

/**
 * Refuse commands that carry a credential: a URL password, a `password=`
 * value, or the literal value of a secret Lifeboat knows (an allow-listed
 * variable's, the repository password). Call after allowListedValues, which
 * registers the values this check looks for.
 */
export function assertNoCredentials(commands: Readonly<Record<string, string | undefined>>): void {
  for (const [field, command] of Object.entries(commands)) {
    if (command !== undefined && redact(command) !== command) {
      throw new LifeboatError(
        "BAD_CONFIG",
        `the source's ${field} command holds a credential (a URL password, a password= value or a secret's value)`,
        {
          details: { field },
          hint: "Name the secret's variable in the source's env list and refer to it in the command as $NAME.",
        },
      );
    }
  }
}
