// An option a command needs unless another option is given: `restore` needs
// --to, except `restore --undo TARGET`. Commander has only all-or-nothing
// mandatory options, so the exception is recorded here, where both the
// action and the runbook command-line check (command-line-check.ts) read it.

import type { Option } from "commander";

const exceptions = new WeakMap<Option, string>();

/** `option` is required unless the option whose long flag is `unless` is given. */
export function requiredUnless<O extends Option>(option: O, unless: string): O {
  exceptions.set(option, unless);
  return option;
}

/** The long flag that makes `option` optional, when it is required that way. */
export function requiredUnlessFlag(option: Option): string | undefined {
  return exceptions.get(option);
}
