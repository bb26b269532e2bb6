// cli=PROG command=SUB for a program other than lifeboat: the block invokes
// `PROG ... SUB`, and PROG's source (found under --root by its path or base
// name) still defines SUB. Nothing is executed.

import type { Check, Finding } from "./drift.ts";
import { definesSubcommand } from "./program-source.ts";
import { baseName, shellCommands } from "./shell.ts";

/** Where PROG's source is: the path as written under the root, else the nearest file of that name. */
async function locate(
  files: Parameters<Check>[1]["files"],
  program: string,
): Promise<{ path: string; text: string } | undefined> {
  const direct = await files.read(program);
  if (direct !== undefined) return { path: program, text: direct };
  for (const path of await files.find(baseName(program))) {
    const text = await files.read(path);
    if (text !== undefined) return { path, text };
  }
  return undefined;
}

export const checkProgram: Check = async (marker, context) => {
  const fields = marker.syntax.ok ? marker.syntax.fields : new Map();
  const program = String(fields.get("cli"));
  const sub = String(fields.get("command"));
  const block = marker.code!;
  const findings: Finding[] = [];
  const commands = shellCommands(block.value, block.firstLine);
  const invoking = commands.filter((command) =>
    command.words.some((word) => baseName(word) === baseName(program)),
  );
  const names = (words: readonly string[]) => {
    const at = words.findIndex((word) => baseName(word) === baseName(program));
    return words.slice(at + 1);
  };
  if (!invoking.some((command) => names(command.words).includes(sub))) {
    const first = invoking[0];
    findings.push({
      kind: "invocation-differs",
      line: first?.line ?? block.line,
      message: first
        ? `the block runs ${program} but not its ${sub} command`
        : `the block does not run ${program}`,
      runbook: first ? first.words.join(" ") : null,
      deployed: `${program} ${sub}`,
    });
  }
  const source = await locate(context.files, program);
  if (!source) {
    findings.push({
      kind: "program-missing",
      message: `${program} not found under the root`,
      runbook: `${program} ${sub}`,
      deployed: null,
    });
  } else if (!definesSubcommand(source.text, sub)) {
    findings.push({
      kind: "subcommand-missing",
      message: `${source.path} defines no ${sub} subcommand`,
      runbook: `${program} ${sub}`,
      deployed: source.path,
    });
  }
  return findings;
};
