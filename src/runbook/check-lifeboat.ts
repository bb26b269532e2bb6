// cli=lifeboat command=SUB: every lifeboat command of the block parses
// against the real CLI (subcommand, flags, argument counts) and names only
// declared sources and groups, and one of them runs SUB.

import { declaredNames, isDeclared, isPlaceholder } from "./declared.ts";
import type { Check, Finding } from "./drift.ts";
import { lifeboatCommands } from "./lifeboat-commands.ts";

export const checkLifeboat: Check = async (marker, context) => {
  const fields = marker.syntax.ok ? marker.syntax.fields : new Map();
  const sub = String(fields.get("command")).trim().replace(/\s+/g, " ");
  const block = marker.code!;
  const findings: Finding[] = [];
  const commands = lifeboatCommands(block, context.commandLine);
  // An invalid command line of SUB is reported as that (below), not also as a missing SUB.
  if (!commands.some(({ parse }) => parse.command === sub)) {
    findings.push({
      kind: "invocation-differs",
      line: commands[0]?.line ?? block.line,
      message: commands.length
        ? `no command of the block runs lifeboat ${sub}`
        : "the block does not run lifeboat",
      runbook: commands.length ? commands.map(({ text }) => text).join("\n") : null,
      deployed: `lifeboat ${sub}`,
    });
  }
  let needsConfig = false;
  for (const { line, text, parse } of commands) {
    if (!parse.ok) {
      findings.push({
        kind: "command-invalid",
        line,
        message: parse.problem,
        runbook: text,
        deployed: parse.usage,
      });
      continue;
    }
    const named = parse.sources.filter((name) => !isPlaceholder(name));
    if (named.length === 0) continue;
    if (!context.config.ok) {
      needsConfig = true;
      continue;
    }
    const config = context.config.value;
    for (const name of named.filter((name) => !isDeclared(config, name))) {
      findings.push({
        kind: "source-unknown",
        line,
        message: `lifeboat.yaml declares no source or group named ${name}`,
        runbook: name,
        deployed: declaredNames(config),
      });
    }
  }
  if (needsConfig && !context.config.ok)
    findings.push({
      kind: "config-unavailable",
      message: `source names not checked: ${context.config.problem}`,
    });
  return findings;
};
