// The confirmation a restore into production needs (lifeboat.yaml's
// `environments:`): the target's name typed on a terminal, or `--confirm
// NAME` where there is none (scripts, CI). Anything else stops the restore
// before the repository is opened: nothing is read, nothing is written.

import { createInterface } from "node:readline/promises";
import type { EnvironmentsConfig } from "../config/environment-schema.ts";
import { LifeboatError } from "../errors.ts";
import { envFileLines } from "../operations/environment-marker.ts";
import { confirmationName, environmentOf, type TargetEnvironment } from "../plan/environments.ts";
import { redact } from "../runtime/redact.ts";

export async function classifyTarget(
  target: string,
  environments: EnvironmentsConfig,
): Promise<TargetEnvironment | undefined> {
  return environmentOf(target, environments, await envFileLines(target));
}

async function typedOnTerminal(question: string): Promise<string | undefined> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await terminal.question(question)).trim();
  } finally {
    terminal.close();
  }
}

/** Refuse a production target unless its name is confirmed; returns the target's environment. */
export async function confirmProductionTarget(
  target: string,
  environments: EnvironmentsConfig,
  confirm: string | undefined,
  what: string,
): Promise<TargetEnvironment | undefined> {
  const environment = await classifyTarget(target, environments);
  if (environment?.name !== "production") return environment;
  const name = confirmationName(target);
  if (confirm === name) return environment;
  const shown = redact(target);
  if (confirm === undefined) {
    const typed = await typedOnTerminal(
      `${what} ${shown} is PRODUCTION (${environment.because}). Type its name (${name}) to go on: `,
    );
    if (typed === name) return environment;
  }
  throw new LifeboatError(
    "BAD_ARGUMENT",
    `${shown} is a production target (${environment.because}): ${what} needs --confirm ${name}${
      confirm !== undefined ? ` (got --confirm ${confirm})` : ""
    }`,
    {
      details: { target: shown, environment: environment.name, because: environment.because },
      hint: `Restore into a staging or scratch target instead, or confirm on purpose with --confirm ${name}.`,
    },
  );
}

/**
 * A deliberate destructive choice (`--no-preserve`): the target's name typed
 * on a terminal, or `--confirm NAME`; anything else stops before the
 * repository is opened.
 */
export async function confirmTargetName(
  target: string,
  confirm: string | undefined,
  why: string,
): Promise<void> {
  const name = confirmationName(target);
  if (confirm === name) return;
  const shown = redact(target);
  if (confirm === undefined) {
    const typed = await typedOnTerminal(`${why} (${shown}). Type the target's name (${name}) to go on: `);
    if (typed === name) return;
  }
  throw new LifeboatError(
    "BAD_ARGUMENT",
    `${why}: confirm with --confirm ${name}${confirm !== undefined ? ` (got --confirm ${confirm})` : ""}`,
    {
      details: { target: shown },
      hint: `Leave out --no-preserve to keep the replaced data aside (restore --undo brings it back), or confirm on purpose with --confirm ${name}.`,
    },
  );
}
