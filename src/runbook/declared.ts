// Names lifeboat.yaml declares, as the checks look them up.

import { groupOf } from "../config/group-schema.ts";
import type { DeclaredConfig } from "./drift.ts";

/** A source or group name; groups stand for their members. */
export function isDeclared(config: DeclaredConfig, name: string): boolean {
  return name in config.sources || name in config.groups;
}

/** The sources a name stands for: itself, or a group's members. */
export function sourcesOf(config: DeclaredConfig, name: string): readonly string[] {
  const group = config.groups[name];
  return group ? groupOf(group).sources : [name];
}

/** Values a reader fills in (`<source>`, `$SOURCE`, `${SOURCE}`) are not names to check. */
export function isPlaceholder(value: string): boolean {
  return /[<>$]/.test(value) || value === "...";
}

export function declaredNames(config: DeclaredConfig): string {
  const names = [...Object.keys(config.sources), ...Object.keys(config.groups)];
  return names.length ? names.join(", ") : "(none declared)";
}
