// The script a Kubernetes container runs: the argument after `-c` when the
// command is a shell (`sh -c`, `/bin/bash -ec`), else command and args joined
// into one line, as a runbook would write the same invocation.

import { baseName } from "./shell.ts";

const shells = new Set(["sh", "bash", "ash", "dash", "zsh", "ksh"]);

export interface ContainerSpec {
  readonly name?: unknown;
  readonly command?: unknown;
  readonly args?: unknown;
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.map((item) => String(item)) : typeof value === "string" ? [value] : [];

export function containerScript(container: ContainerSpec): string {
  const argv = [...strings(container.command), ...strings(container.args)];
  const shell = argv.findIndex(
    (word, index) => shells.has(baseName(word)) && /^-[a-z]*c[a-z]*$/.test(argv[index + 1] ?? ""),
  );
  // `sh -c SCRIPT NAME ARGS...`: the script is the word right after -c.
  if (shell >= 0 && argv[shell + 2] !== undefined) return argv[shell + 2]!;
  return argv.join(" ");
}
