// The lifeboat commands of a block, each parsed against the real command
// tree (through the CommandLineCheck the CLI hands in).

import type { CommandLineCheck, CommandLineParse } from "./drift.ts";
import type { CodeBlock } from "./markers.ts";
import { lifeboatArgs, shellCommands } from "./shell.ts";

export interface LifeboatCommand {
  readonly line: number;
  readonly text: string;
  readonly parse: CommandLineParse;
}

export function lifeboatCommands(block: CodeBlock, check: CommandLineCheck): LifeboatCommand[] {
  return shellCommands(block.value, block.firstLine).flatMap((command) => {
    const args = lifeboatArgs(command);
    return args ? [{ line: command.line, text: command.words.join(" "), parse: check(args) }] : [];
  });
}
