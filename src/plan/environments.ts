// Which environment a restore, drill or scenario target belongs to, from
// lifeboat.yaml's `environments:` patterns (the `.env` marker of directory
// targets is read by operations/environment-marker.ts and passed in). Pure.
// Production is looked at first: a target matching several environments is
// treated as the most dangerous one it matches.

import type { EnvironmentName, EnvironmentsConfig } from "../config/environment-schema.ts";
import { redactCredentialPatterns } from "../runtime/redact.ts";

export interface TargetEnvironment {
  readonly name: EnvironmentName;
  /** Why: `pattern postgres://*@db.prod.internal*` or `APP_ENV=prod in /srv/app/.env`. */
  readonly because: string;
}

const order: readonly EnvironmentName[] = ["production", "staging", "scratch"];

/** A glob where `*` matches any run of characters (slashes too) and `?` one. */
export function globMatches(pattern: string, text: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`).test(text);
}

export function environmentOf(
  target: string,
  environments: EnvironmentsConfig,
  /** For directory targets: the marker lines found in .env files at or above the target, with their file. */
  markers: readonly { readonly line: string; readonly file: string }[] = [],
): TargetEnvironment | undefined {
  const text = redactCredentialPatterns(target);
  for (const name of order) {
    const declared = environments[name];
    if (!declared) continue;
    const pattern = declared.match.find((candidate) => globMatches(candidate, text));
    if (pattern) return { name, because: `pattern ${pattern}` };
    const marker = declared.env_file_marker;
    const found = marker ? markers.find((entry) => entry.line === marker) : undefined;
    if (found) return { name, because: `${found.line} in ${found.file}` };
  }
  return undefined;
}

/** What a person types to confirm: a URL's database (or host), a path's last part. */
export function confirmationName(target: string): string {
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(target) ? URL.parse(target) : null;
  if (url) return decodeURIComponent(url.pathname.replace(/^\/+/, "").split("/")[0] ?? "") || url.hostname;
  const parts = target.replace(/\/+$/, "").split("/");
  return parts.at(-1) || target;
}
