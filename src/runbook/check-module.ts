// module=M callable=F: the dotted module M resolves under --root (a Python
// module or package, or a JavaScript/TypeScript file) and defines F at top
// level, and the block runs that module (`python -m M`, or its file path).

import type { Check, Finding } from "./drift.ts";
import { definesCallable } from "./program-source.ts";
import { shellCommands } from "./shell.ts";

const extensions = [".py", ".ts", ".mts", ".js", ".mjs", ".cjs"];

export function modulePaths(module: string): string[] {
  const base = module.split(".").join("/");
  return [
    `${base}.py`,
    `${base}/__init__.py`,
    ...extensions.slice(1).flatMap((extension) => [`${base}${extension}`, `${base}/index${extension}`]),
  ];
}

/** The modules a block runs: `-m M`, or a script path such as ops/backup/restore_drill.py. */
export function invokedModules(words: readonly string[]): string[] {
  const modules: string[] = [];
  words.forEach((word, index) => {
    if (word === "-m" && words[index + 1]) modules.push(words[index + 1]!);
    const file = /^(?:\.\/)?([\w/-]+?)(?:\/__init__|\/index)?\.(?:py|ts|mts|js|mjs|cjs)$/.exec(word);
    if (file) modules.push(file[1]!.replace(/\//g, "."));
  });
  return modules;
}

export const checkModule: Check = async (marker, context) => {
  const fields = marker.syntax.ok ? marker.syntax.fields : new Map();
  const module = String(fields.get("module"));
  const callable = String(fields.get("callable"));
  const block = marker.code!;
  const findings: Finding[] = [];
  const commands = shellCommands(block.value, block.firstLine);
  const invoked = commands.flatMap((command) =>
    invokedModules(command.words).map((name) => ({ name, line: command.line })),
  );
  if (!invoked.some(({ name }) => name === module)) {
    findings.push({
      kind: "invocation-differs",
      line: invoked[0]?.line ?? block.line,
      message: invoked.length
        ? `the block runs ${invoked.map(({ name }) => name).join(", ")}, the marker names ${module}`
        : `the block does not run ${module}`,
      runbook: invoked.length ? invoked.map(({ name }) => name).join(", ") : null,
      deployed: module,
    });
  }
  let located: { path: string; text: string } | undefined;
  for (const path of modulePaths(module)) {
    const text = await context.files.read(path);
    if (text !== undefined) {
      located = { path, text };
      break;
    }
  }
  if (!located) {
    findings.push({
      kind: "module-missing",
      message: `module ${module} not found under the root (looked for ${modulePaths(module).slice(0, 2).join(", ")}, ...)`,
      runbook: module,
      deployed: null,
    });
  } else if (!definesCallable(located.text, callable)) {
    findings.push({
      kind: "callable-missing",
      message: `${located.path} defines no top-level ${callable}`,
      runbook: `${module}.${callable}`,
      deployed: located.path,
    });
  }
  return findings;
};
