// A scenario's probes (steady state before the disruption, recovery after):
// one attempt of each kind, and the polling that tries one at its interval
// until it passes or its budget runs out. An attempt that throws is a failed
// attempt (a server that is down is exactly what a probe waits through).

import { connect } from "node:net";
import type { ScenarioProbeConfig } from "../config/scenario-schema.ts";
import { parseDuration } from "../domain/duration.ts";
import { redact } from "../runtime/redact.ts";
import { runShellCommand } from "../runtime/shell-command.ts";
import { engineForUrl, type ScenarioContext } from "./endpoints.ts";

export interface ProbeAttempt {
  readonly ok: boolean;
  readonly detail: string;
}

export function describeProbe(probe: ScenarioProbeConfig): string {
  if ("sql" in probe) return `sql: ${probe.sql}`;
  if ("http" in probe) return `http: ${probe.http}`;
  if ("tcp" in probe) return `tcp: ${probe.tcp}`;
  if ("redis" in probe) return `redis: ${probe.redis}`;
  return `command: ${probe.command}`;
}

function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === "") return false;
  if (typeof value === "string") return !["f", "false", "0", "no"].includes(value.toLowerCase());
  return true;
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

/** One attempt; never throws. */
export async function probeOnce(probe: ScenarioProbeConfig, context: ScenarioContext): Promise<ProbeAttempt> {
  const attemptMs = Math.max(1000, Math.min(10_000, parseDuration(probe.interval) * 1000 * 5));
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
    if ("http" in probe) {
      const response = await fetch(probe.http, { signal: AbortSignal.timeout(attemptMs) });
      await response.body?.cancel();
      return { ok: response.status === probe.status, detail: `HTTP ${response.status}` };
    }
    if ("tcp" in probe) return await tcpOpen(probe.tcp, attemptMs);
    const run = await runShellCommand(probe.command, {
      timeoutSeconds: attemptMs / 1000,
      variables: {},
      signal: context.signal,
    });
    return { ok: run.ok, detail: run.detail };
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
export async function pollProbe(probe: ScenarioProbeConfig, context: ScenarioContext): Promise<PolledProbe> {
  const deadline = context.now().getTime() + parseDuration(probe.timeout) * 1000;
  const intervalMs = parseDuration(probe.interval) * 1000;
  let attempts = 0;
  for (;;) {
    context.signal?.throwIfAborted();
    const started = context.now().getTime();
    const attempt = await probeOnce(probe, context);
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
