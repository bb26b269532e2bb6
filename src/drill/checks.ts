// Verification of a restored scratch target. The fingerprint comparison and
// the "not empty" rule always run (a drill that passes with no data proves
// nothing); the user's checks from lifeboat.yaml run after them.

import type { DrillCheckConfig } from "../config/source-fields.ts";
import { parseDuration } from "../domain/duration.ts";
import {
  compareFingerprints,
  dataHeld,
  type Fingerprint,
  type FingerprintDifference,
} from "../domain/fingerprint.ts";
import type { Engine, EngineContext, ScratchTarget } from "../engines/engine.ts";
import { redact } from "../runtime/redact.ts";
import { runShellCommand } from "../runtime/shell-command.ts";
import type { CheckOutcome } from "../domain/drill-report.ts";

export function fingerprintChecks(expected: Fingerprint, actual: Fingerprint): CheckOutcome[] {
  const differences = compareFingerprints(expected, actual);
  const compared = Object.keys(expected.counts).length + Object.keys(expected.hashes).length;
  const hashedTables = Object.keys(expected.hashes).filter((key) => key.startsWith("content:")).length;
  const deep =
    hashedTables > 0
      ? ` (including content hashes of ${hashedTables} ${hashedTables === 1 ? "table" : "tables"})`
      : "";
  const held = dataHeld(actual);
  return [
    {
      name: "fingerprint",
      kind: "fingerprint",
      result: differences.length === 0 ? "passed" : "failed",
      detail:
        differences.length === 0
          ? `${compared} facts match the backup's fingerprint${deep}`
          : describeDifferences(differences),
    },
    {
      name: "not empty",
      kind: "not_empty",
      result: held.empty ? "failed" : "passed",
      detail: held.empty ? `the restored target holds no data (${held.detail})` : held.detail,
    },
  ];
}

export function describeDifferences(differences: readonly FingerprintDifference[]): string {
  return differences
    .slice(0, 8)
    .map((d) => `${d.key}: expected ${d.expected ?? "absent"}, found ${d.actual ?? "absent"}`)
    .join("; ");
}

export interface CheckEnvironment {
  readonly engine: Engine;
  readonly scratch: ScratchTarget;
  readonly fingerprint: Fingerprint;
  readonly context: EngineContext;
}

export async function runUserCheck(check: DrillCheckConfig, env: CheckEnvironment): Promise<CheckOutcome> {
  if ("sql" in check) return sqlCheck(check.sql, env);
  if ("http" in check) return httpCheck(check.http);
  if ("command" in check)
    return commandCheck(check.command, parseDuration(check.timeout), env.scratch.env, env.context.signal);
  if ("redis" in check) return redisCheck(check.redis, check.equals, env);
  return expectRowsCheck(check.expect_rows, env.fingerprint);
}

function truthy(value: unknown): boolean {
  if (typeof value === "string") return !["", "f", "false", "0", "no", "off"].includes(value.toLowerCase());
  if (typeof value === "bigint") return value !== 0n;
  return Boolean(value);
}

async function sqlCheck(sql: string, env: CheckEnvironment): Promise<CheckOutcome> {
  const name = `sql: ${sql}`;
  if (!env.engine.queryScalar) {
    return {
      name,
      kind: "sql",
      result: "error",
      detail: `the ${env.engine.name} engine cannot run SQL checks`,
    };
  }
  try {
    const value = await env.engine.queryScalar(env.scratch.target, sql, env.context);
    return {
      name,
      kind: "sql",
      result: truthy(value) ? "passed" : "failed",
      detail: `returned ${String(value)}`,
    };
  } catch (error) {
    return { name, kind: "sql", result: "error", detail: (error as Error).message };
  }
}

async function redisCheck(
  text: string,
  equals: string | number | undefined,
  env: CheckEnvironment,
): Promise<CheckOutcome> {
  const name = `redis: ${text}`;
  if (!env.engine.runCheckCommand) {
    return {
      name,
      kind: "redis",
      result: "error",
      detail: `the ${env.engine.name} engine cannot run redis: checks`,
    };
  }
  try {
    const reply = await env.engine.runCheckCommand(env.scratch.target, splitCommand(text), env.context);
    const shown = reply === null || reply === undefined ? "nil" : JSON.stringify(String(reply));
    const ok =
      equals === undefined
        ? truthy(reply ?? "") && !(Array.isArray(reply) && reply.length === 0)
        : String(reply) === String(equals);
    return {
      name,
      kind: "redis",
      result: ok ? "passed" : "failed",
      detail: `replied ${shown}${equals === undefined ? "" : `, expected ${JSON.stringify(String(equals))}`}`,
    };
  } catch (error) {
    return { name, kind: "redis", result: "error", detail: (error as Error).message };
  }
}

/** Split `SET "a b" 'c'` into words like a shell: quotes group, backslash escapes inside double quotes. */
function splitCommand(text: string): string[] {
  const words: string[] = [];
  for (const match of text.matchAll(/"((?:\\.|[^"\\])*)"|'([^']*)'|(\S+)/g)) {
    words.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : (match[2] ?? match[3] ?? ""));
  }
  return words;
}

function fieldAt(body: unknown, path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], body);
}

async function httpCheck(http: Extract<DrillCheckConfig, { http: unknown }>["http"]): Promise<CheckOutcome> {
  const name = `http: ${http.url}`;
  try {
    const response = await fetch(http.url, {
      signal: AbortSignal.timeout(parseDuration(http.timeout) * 1000),
    });
    if (response.status !== http.status) {
      return {
        name,
        kind: "http",
        result: "failed",
        detail: `status ${response.status}, expected ${http.status}`,
      };
    }
    if (!http.json_field)
      return { name, kind: "http", result: "passed", detail: `status ${response.status}` };
    const value = fieldAt(await response.json(), http.json_field);
    const ok =
      http.equals === undefined ? truthy(value) : JSON.stringify(value) === JSON.stringify(http.equals);
    return {
      name,
      kind: "http",
      result: ok ? "passed" : "failed",
      detail: `${http.json_field} = ${JSON.stringify(value)}${http.equals === undefined ? "" : `, expected ${JSON.stringify(http.equals)}`}`,
    };
  } catch (error) {
    return { name, kind: "http", result: "error", detail: (error as Error).message };
  }
}

/**
 * A shell command that must exit 0, with `variables` (a scratch target's
 * connection details) in its environment and nothing of Lifeboat's own; it
 * runs in its own process group, killed whole on a timeout or an interrupt
 * (runtime/shell-command.ts).
 */
export async function commandCheck(
  command: string,
  timeoutSeconds: number,
  variables: Readonly<Record<string, string>>,
  signal?: AbortSignal,
): Promise<CheckOutcome> {
  const run = await runShellCommand(command, { timeoutSeconds, variables, signal });
  // The check's output goes into reports and notifications: no secret may ride along.
  return {
    name: redact(`command: ${command}`),
    kind: "command",
    result: run.error ? "error" : run.ok ? "passed" : "failed",
    detail: redact(run.detail),
  };
}

function expectRowsCheck(
  expect: Extract<DrillCheckConfig, { expect_rows: unknown }>["expect_rows"],
  fingerprint: Fingerprint,
): CheckOutcome {
  const name = `expect_rows: ${expect.table}`;
  const rows = fingerprint.counts[`rows:${expect.table}`];
  if (rows === undefined)
    return { name, kind: "expect_rows", result: "failed", detail: `no table ${expect.table} in the restore` };
  const failures = [
    expect.min !== undefined && rows < expect.min ? `fewer than ${expect.min}` : "",
    expect.equals !== undefined && rows !== expect.equals ? `not ${expect.equals}` : "",
  ].filter(Boolean);
  return {
    name,
    kind: "expect_rows",
    result: failures.length ? "failed" : "passed",
    detail: `${rows} rows${failures.length ? ` (${failures.join(", ")})` : ""}`,
  };
}
