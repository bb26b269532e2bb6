// Verification of a restored scratch target. The fingerprint comparison and
// the "not empty" rule always run (a drill that passes with no data proves
// nothing); the user's checks from lifeboat.yaml run after them.

import { spawn } from "node:child_process";
import type { DrillCheckConfig } from "../config/source-fields.ts";
import { parseDuration } from "../domain/duration.ts";
import {
  compareFingerprints,
  dataHeld,
  type Fingerprint,
  type FingerprintDifference,
} from "../domain/fingerprint.ts";
import type { Engine, EngineContext, ScratchTarget } from "../engines/engine.ts";
import { childEnvironment } from "../runtime/child-env.ts";
import { redact } from "../runtime/redact.ts";
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

// Process groups of running command checks, killed should Lifeboat exit while one runs.
const runningGroups = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // the group is gone already
  }
}

/**
 * A shell command with the scratch target's connection details (and the
 * allow-listed base environment, never Lifeboat's own). It runs in its own
 * process group so a timeout or an interrupted drill kills everything it
 * started, not only the shell: `sh -c 'sleep 30'` must not outlive a 1 s timeout.
 */
/** A shell command that must exit 0, with `variables` (a scratch target's connection details) in its environment. */
export function commandCheck(
  command: string,
  timeoutSeconds: number,
  variables: Readonly<Record<string, string>>,
  signal?: AbortSignal,
): Promise<CheckOutcome> {
  const name = `command: ${command}`;
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => runningGroups.forEach(killGroup));
  }
  return new Promise((resolve) => {
    const child = spawn("sh", ["-c", command], {
      env: childEnvironment(variables),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group (and session), so the group can be killed
    });
    const pid = child.pid;
    let stopped: string | undefined;
    const stop = (why: string) => {
      stopped ??= why;
      if (pid !== undefined) killGroup(pid);
    };
    if (pid !== undefined) runningGroups.add(pid);
    const timer = setTimeout(() => stop(`killed (timeout ${timeoutSeconds}s)`), timeoutSeconds * 1000);
    const onAbort = () => stop("killed (drill interrupted)");
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) onAbort();
    let output = "";
    // A tool that prints its usage after an error ends with the usage: the error line is kept apart.
    let errorLine: string | undefined;
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      errorLine ??= text.split("\n").find((line) => /\berror\b/i.test(line));
      output = (output + text).slice(-2000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const finish = (outcome: CheckOutcome) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (pid !== undefined) runningGroups.delete(pid);
      // The check's output goes into reports and notifications: no secret may ride along.
      resolve({ ...outcome, name: redact(outcome.name), detail: redact(outcome.detail) });
    };
    // What the shell left running in the background goes with it (and releases the output pipes).
    child.on("exit", () => pid !== undefined && killGroup(pid));
    child.on("error", (error) => finish({ name, kind: "command", result: "error", detail: error.message }));
    child.on("close", (code, signal) => {
      const last = output.trim().split("\n").slice(-3);
      const head = errorLine !== undefined && !last.includes(errorLine) ? [errorLine.trim(), "..."] : [];
      const tail = [...head, ...last].join(" | ");
      const status = stopped ?? (signal ? `killed by ${signal}` : `exit ${code}`);
      finish({
        name,
        kind: "command",
        result: code === 0 && !stopped ? "passed" : "failed",
        detail: `${status}${tail ? `: ${tail}` : ""}`,
      });
    });
  });
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
