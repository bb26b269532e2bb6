// The one redaction step between Lifeboat and everything it prints, writes or
// sends: logs, errors, stdout and --json, drill reports, notifications, check
// output. It removes what looks like a credential (the password part of a URL,
// `password=` parameters of URLs, libpq keyword strings and `env` dumps) and
// the exact values of the secrets Lifeboat has read (registerSecret).
//
// Sinks call it, not producers: a message built anywhere is safe once it
// passes a sink, so a new message cannot forget it.

/**
 * Values shorter than this are not redacted by value: replacing every "ab" in
 * the output would mangle it and, worse, point at the secret. Such a password
 * is still removed where it appears as a URL password or a `password=` value.
 */
export const minimumRedactedLength = 4;

export const redactedMark = "***";

/** Variables whose values are secrets whatever the configuration says (the config adds its own). */
const secretVariables = ["LIFEBOAT_PASSWORD", "LIFEBOAT_NEW_PASSWORD", "PGPASSWORD"];

const secrets = new Set<string>();
let ordered: string[] = [];

/** Remember a secret Lifeboat has read, so its value never leaves the process. */
export function registerSecret(value: string | null | undefined): void {
  if (!value || value.length < minimumRedactedLength) return;
  const forms = [value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)];
  let added = false;
  for (const form of forms) {
    if (!secrets.has(form)) {
      secrets.add(form);
      added = true;
    }
  }
  // Longest first, so a secret that contains another is removed whole.
  if (added) ordered = [...secrets].sort((left, right) => right.length - left.length);
}

/** Register the value of an environment variable that holds a secret (when it is set). */
export function registerSecretVariable(name: string, env: NodeJS.ProcessEnv = process.env): void {
  registerSecret(env[name]);
}

for (const name of secretVariables) registerSecretVariable(name);

// scheme://user:password@host: everything between the first ':' of the
// userinfo and the last '@' before the host (a raw '@' may sit in a password).
const urlPassword = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^\s/?#]*@/gi;
// password=..., PGPASSWORD=..., LIFEBOAT_PASSWORD=..., passwd=...: a URL query
// parameter, a libpq keyword/value string (password='a b'), an `env` line.
const passwordParameter =
  /(?<![a-z0-9])([a-z0-9_]*(?:password|passwd))(\s*=\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s&;#,'"]+)/gi;

/** Only what looks like a credential (URL passwords, `password=` values), whatever was registered. */
export function redactCredentialPatterns(text: string): string {
  return text
    .replace(urlPassword, `$1${redactedMark}@`)
    .replace(passwordParameter, (_match, name: string, equals: string) => `${name}${equals}${redactedMark}`);
}

export function redact(text: string): string {
  let result = redactCredentialPatterns(text);
  for (const secret of ordered) {
    if (result.includes(secret)) result = result.split(secret).join(redactedMark);
  }
  return result;
}

/**
 * A value as JSON.stringify would see it, with every string (keys too)
 * redacted. A value whose JSON shows no trace of a credential (no secret in
 * any registered form, no "passw", no URL with an "@") is returned as is:
 * walking a listing of 100,000 snapshots string by string costs seconds.
 */
export function redactDeep<T>(value: T): T {
  if (typeof value === "object" && value !== null && !mayHoldCredential(value)) return value;
  return redactEach(value);
}

/**
 * `value` as indented JSON, redacted: serialised once, and walked string by
 * string only when the text shows a trace of a credential (what `--json`
 * prints; 100,000 snapshots are tens of MB).
 */
export function redactedJson(value: unknown): string {
  const text = JSON.stringify(value, null, 2) ?? "null";
  return textMayHoldCredential(text) ? JSON.stringify(redactEach(value), null, 2) : text;
}

/** Necessary conditions for any string inside to change (JSON escaping never touches letters, "@", ":" or "/"). */
function mayHoldCredential(value: object): boolean {
  let text: string;
  try {
    text = JSON.stringify(value) ?? "";
  } catch {
    return true; // not serialisable as is: take the careful path
  }
  return textMayHoldCredential(text);
}

function textMayHoldCredential(text: string): boolean {
  if (/passw/i.test(text)) return true;
  if (text.includes("://") && text.includes("@")) return true;
  return ordered.some((secret) => text.includes(secret));
}

function redactEach<T>(value: T): T {
  if (typeof value === "string") return redact(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redactEach(item)) as T;
  if (value === null || typeof value !== "object") return value;
  if ("toJSON" in value && typeof value.toJSON === "function") {
    return redactEach(value.toJSON() as unknown) as T;
  }
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [redact(key), redactEach(item as unknown)]),
  ) as T;
}
