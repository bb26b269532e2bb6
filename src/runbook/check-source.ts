// source=NAME: NAME is a declared source or group, and every lifeboat command
// of the block that names sources names NAME (directly or through a group
// that holds it). A command that takes sources but names none (all of them)
// covers NAME too.

import { declaredNames, isDeclared, isPlaceholder, sourcesOf } from "./declared.ts";
import type { Check, Finding } from "./drift.ts";
import { lifeboatCommands } from "./lifeboat-commands.ts";

export const checkSource: Check = async (marker, context) => {
  const fields = marker.syntax.ok ? marker.syntax.fields : new Map();
  const name = String(fields.get("source"));
  if (!context.config.ok) return [{ kind: "config-unavailable", message: context.config.problem }];
  const config = context.config.value;
  const findings: Finding[] = [];
  if (!isDeclared(config, name)) {
    findings.push({
      kind: "source-unknown",
      message: `lifeboat.yaml declares no source or group named ${name}`,
      runbook: name,
      deployed: declaredNames(config),
    });
  }
  const block = marker.code;
  if (!block) return findings;
  for (const { line, text, parse } of lifeboatCommands(block, context.commandLine)) {
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
    const named = parse.sources.filter((value) => !isPlaceholder(value));
    if (!parse.takesSource || named.length === 0) continue;
    const covered = named.some(
      (value) => value === name || (isDeclared(config, value) && sourcesOf(config, value).includes(name)),
    );
    if (!covered) {
      findings.push({
        kind: "source-not-named",
        line,
        message: `lifeboat ${parse.command} names ${named.join(", ")}, the marker says ${name}`,
        runbook: text,
        deployed: name,
      });
    }
  }
  return findings;
};
