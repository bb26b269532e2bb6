// Probes: one attempt of each kind, and the polling that tries one at its
// interval until it passes or its budget runs out. Scenarios (steady state
// before a disruption, recovery after it) and readiness after a restore
// (operations/readiness.ts) poll the same probes through this one prober. An
// attempt that throws is a failed attempt: a server that is down is exactly
// what a probe waits through.

import { connect } from "node:net";
import type { ProbeConfig } from "../config/probe-schema.ts";
import { parseDuration } from "../domain/duration.ts";
import type { Engine, EngineContext } from "../engines/engine.ts";
import { redact } from "../runtime/redact.ts";
import { runShellCommand } from "../runtime/shell-command.ts";
import { engineForUrl } from "./engine-for-url.ts";

export interface ProbeContext {
  readonly engineFor: (name: string) => Engine;
  readonly engineContext: EngineContext;
  readonly now: () => Date;
  readonly signal?: AbortSignal | undefined;
  /** What a command probe gets in its environment besides the allow-listed base (RESTORE_TARGET, ...). */
  readonly variables?: Readonly<Record<string, string>> | undefined;
}

export interface ProbeAttempt {
  readonly ok: boolean;
  readonly detail: string;
}

/** The probe in words, as reports name it; a URL's password never shows. */
export function describeProbe(probe: ProbeConfig): string {
  if ("sql" in probe) return `sql: ${probe.sql}`;
  if ("http" in probe) {
    if (typeof probe.http === "string") return redact(`http: ${probe.http}`);
    const field = probe.http.json_field
      ? ` (${probe.http.json_field}${probe.http.equals === undefined ? "" : ` = ${JSON.stringify(probe.http.equals)}`})`
      : "";
    return redact(`http: ${probe.http.url}${field}`);
  }
  if ("tcp" in probe) return `tcp: ${probe.tcp}`;
  if ("redis" in probe) return `redis: ${probe.redis}`;
  return redact(`command: ${probe.command}`);
}

function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === "") return false;
  if (typeof value === "string") return !["f", "false", "0", "no"].includes(value.toLowerCase());
  return true;
}

/** The value at a dotted path of a JSON body (database.migrations_current), or undefined. */
export function jsonFieldAt(body: unknown, path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>(
      (value, key) =>
        typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined,
      body,
    );
}

function tcpOpen(address: string, timeoutMs: number): Promise<ProbeAttempt> {
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at);
  const port = Number(address.slice(at + 1));
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (attempt: ProbeAttempt) => {
      socket.destroy();
      resolve(attempt);
    };
    socket.setTimeout(timeoutMs, () => done({ ok: false, detail: "connection timed out" }));
    socket.once("connect", () => done({ ok: true, detail: "connected" }));
    socket.once("error", (error) => done({ ok: false, detail: error.message }));
  });
}

type HttpProbe = Extract<ProbeConfig, { http: unknown }>;

async function httpAttempt(probe: HttpProbe, timeoutMs: number): Promise<ProbeAttempt> {
  const {
    url,
    status,
    json_field: field,
    equals,
  } = typeof probe.http === "string"
    ? {
        url: probe.http,
        status: "status" in probe ? probe.status : 200,
        json_field: undefined,
        equals: undefined,
      }
    : probe.http;
  // fetch refuses a URL with credentials: they travel as Basic authentication, as curl sends them.
  const parsed = new URL(url);
  const credentials =
    parsed.username || parsed.password ? `${parsed.username}:${parsed.password}` : undefined;
  parsed.username = "";
  parsed.password = "";
  const response = await fetch(parsed, {
    signal: AbortSignal.timeout(timeoutMs),
    ...(credentials
      ? {
          headers: {
            authorization: `Basic ${Buffer.from(decodeURIComponent(credentials)).toString("base64")}`,
          },
        }
      : {}),
  });
  if (response.status !== status || field === undefined) {
    await response.body?.cancel();
    return {
      ok: response.status === status,
      detail: `HTTP ${response.status}${response.status === status ? "" : `, expected ${status}`}`,
    };
  }
  const value = jsonFieldAt(await response.json(), field);
  const ok = equals === undefined ? truthy(value) : JSON.stringify(value) === JSON.stringify(equals);
  const expected = equals === undefined ? "" : `, expected ${JSON.stringify(equals)}`;
  return {
    ok,
    detail: `HTTP ${response.status}, ${field} = ${JSON.stringify(value) ?? "absent"}${expected}`,
  };
}

/** One attempt, given at most `limitMs` (default: five intervals, 1 to 10 s); never throws. */
export async function probeOnce(
  probe: ProbeConfig,
  context: ProbeContext,
  limitMs?: number,
): Promise<ProbeAttempt> {
  const usual = Math.max(1000, Math.min(10_000, parseDuration(probe.interval) * 1000 * 5));
  const attemptMs = Math.max(100, Math.min(usual, limitMs ?? usual));
  try {
    if ("sql" in probe) {
      const engine = engineForUrl(context, probe.url, "sql probe");
      if (!engine.queryScalar) return { ok: false, detail: `the ${engine.name} engine runs no SQL` };
      const value = await engine.queryScalar(probe.url, probe.sql, context.engineContext);
      return { ok: truthy(value), detail: `returned ${JSON.stringify(value)}` };
    }
    if ("redis" in probe) {
      const engine = engineForUrl(context, probe.url, "redis probe");
      if (!engine.runCheckCommand) return { ok: false, detail: `the ${engine.name} engine runs no commands` };
      const words =
        probe.redis.match(/"[^"]*"|'[^']*'|\S+/g)?.map((word) => word.replace(/^(["'])(.*)\1$/, "$2")) ?? [];
      const reply = await engine.runCheckCommand(probe.url, words, context.engineContext);
      const shown = JSON.stringify(reply);
      const ok =
        probe.equals === undefined
          ? truthy(reply) && !(Array.isArray(reply) && reply.length === 0)
          : String(reply) === String(probe.equals) ||
            (Array.isArray(reply) && String(reply[0]) === String(probe.equals));
      return { ok, detail: `replied ${shown}` };
    }
    if ("http" in probe) return await httpAttempt(probe, attemptMs);
    if ("tcp" in probe) return await tcpOpen(probe.tcp, attemptMs);
    const run = await runShellCommand(probe.command, {
      timeoutSeconds: attemptMs / 1000,
      variables: context.variables ?? {},
      signal: context.signal,
    });
    return { ok: run.ok, detail: redact(run.detail) };
  } catch (error) {
    return { ok: false, detail: redact(error instanceof Error ? error.message : String(error)) };
  }
}

export interface PolledProbe {
  readonly ok: boolean;
  readonly attempts: number;
  /** The last attempt's words. */
  readonly detail: string;
  /** When it first passed (ms), or undefined. */
  readonly passedAt: number | undefined;
}

/** Try `probe` every interval until it passes or its timeout ran out (or the run is interrupted). */
export async function pollProbe(probe: ProbeConfig, context: ProbeContext): Promise<PolledProbe> {
  const deadline = context.now().getTime() + parseDuration(probe.timeout) * 1000;
  const intervalMs = parseDuration(probe.interval) * 1000;
  let attempts = 0;
  for (;;) {
    context.signal?.throwIfAborted();
    const started = context.now().getTime();
    // An attempt never runs past the budget: a server that hangs fails the probe at its timeout.
    const attempt = await probeOnce(probe, context, deadline - started);
    attempts++;
    if (attempt.ok) return { ok: true, attempts, detail: attempt.detail, passedAt: context.now().getTime() };
    const next = started + intervalMs;
    if (next > deadline)
      return {
        ok: false,
        attempts,
        detail: `${attempt.detail} (gave up after ${probe.timeout})`,
        passedAt: undefined,
      };
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - context.now().getTime())));
  }
}
