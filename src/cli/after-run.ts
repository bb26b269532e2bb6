// What happens around a backup, drill, check, prune or forget besides the
// run itself: heartbeats for existing monitors (a LAST_SUCCESS file, a
// healthchecks-style ping), notifications of failed runs, and the run's
// metrics (--metrics-textfile for node_exporter, a Pushgateway). None of it
// changes the command's result: a monitor that cannot be reached is a
// warning. Secrets (ping URLs, webhook URLs) are redacted from every message.

import { hostname } from "node:os";
import type { RunOperation, RunRecord } from "../domain/run-record.ts";
import type { Config } from "../engines/config.ts";
import { LifeboatError } from "../errors.ts";
import { notifyRunFailure } from "../notify/send.ts";
import { runRecordOf } from "../operations/run-record.ts";
import { statusRegistry } from "../report/metrics.ts";
import { redact, registerSecret } from "../runtime/redact.ts";
import { writeFileWhole } from "../runtime/write-whole.ts";
import { notifyTargets } from "./commands/drill.ts";
import { readStatusOf } from "./commands/status.ts";
import { loadSessionConfig, type CommandEnv } from "./session.ts";

const PING_TIMEOUT_MS = 10_000;

function pingUrl(config: Config): string | undefined {
  const variable = config.heartbeat?.ping_url_env;
  const url = variable ? process.env[variable] : undefined;
  if (url) registerSecret(url); // a healthchecks URL is a credential: whoever has it can report success
  return url || undefined;
}

function beats(config: Config, operation: string): boolean {
  return (config.heartbeat?.on ?? ["backup"]).includes(operation as never);
}

async function ping(env: CommandEnv, url: string, suffix: "" | "/start" | "/fail", body = ""): Promise<void> {
  try {
    const response = await fetch(url.replace(/\/+$/, "") + suffix, {
      method: "POST",
      body,
      signal: AbortSignal.timeout(PING_TIMEOUT_MS),
    });
    if (!response.ok) env.log.warn(`heartbeat ping${suffix} answered HTTP ${response.status}`);
  } catch (error) {
    env.log.warn(
      `heartbeat ping${suffix} failed: ${redact(error instanceof Error ? error.message : String(error))}`,
    );
  }
}

/** At the start of a recording command: the heartbeat's start ping. */
export async function beforeCommand(env: CommandEnv, operation: string): Promise<void> {
  const config = await loadSessionConfig(env).then(
    ({ config }) => config,
    () => undefined, // the command itself reports a bad config
  );
  const url = config && beats(config, operation) ? pingUrl(config) : undefined;
  if (url) await ping(env, url, "/start");
}

/**
 * After a recording command, whatever its outcome: `error` is what it threw.
 * A command that failed before it could keep a record (the repository could
 * not be opened) still counts as a failed run here.
 */
export async function afterCommand(env: CommandEnv, operation: string, error: unknown): Promise<void> {
  let config: Config;
  try {
    config = (await loadSessionConfig(env)).config;
  } catch {
    return; // a bad config was the command's own error, already reported
  }
  const runs: RunRecord[] = [...(env.recordedRuns ?? [])];
  if (runs.length === 0 && error !== undefined && !isUsage(error)) {
    runs.push(
      runRecordOf(
        { operation: operation as RunOperation, source: null, startedAt: new Date(), error },
        new Date(),
        hostname(),
      ),
    );
  }
  if (runs.length === 0) return;
  await heartbeat(env, config, operation, runs);
  await notifyFailures(env, config, runs);
  await exportMetrics(env, config);
}

function isUsage(error: unknown): boolean {
  return error instanceof LifeboatError && (error.code === "BAD_ARGUMENT" || error.code === "BAD_CONFIG");
}

async function heartbeat(
  env: CommandEnv,
  config: Config,
  operation: string,
  runs: readonly RunRecord[],
): Promise<void> {
  if (!config.heartbeat || !beats(config, operation)) return;
  const failed = runs.filter((run) => run.outcome === "failed");
  const file = config.heartbeat.file;
  if (file && failed.length === 0) {
    const text = `${new Date().toISOString()} ${operation} ${runs.map((run) => run.source ?? "repository").join(" ")}\n`;
    await writeFileWhole(file, text).catch((problem: unknown) =>
      env.log.warn(`could not write the heartbeat file ${file}: ${(problem as Error).message}`),
    );
  }
  const url = pingUrl(config);
  if (!url) return;
  const summary = failed
    .map((run) => `${run.source ?? operation}: [${run.error?.code}] ${run.error?.message}`)
    .join("\n");
  await ping(env, url, failed.length ? "/fail" : "", redact(summary));
}

async function notifyFailures(env: CommandEnv, config: Config, runs: readonly RunRecord[]): Promise<void> {
  // Drills send their own report, failed or not (cli/commands/drill.ts).
  const failed = runs.filter((run) => run.outcome === "failed" && run.operation !== "drill");
  if (failed.length === 0) return;
  const { targets } = notifyTargets(config);
  for (const run of failed)
    for (const delivery of await notifyRunFailure(run, targets))
      if (!delivery.ok) env.log.warn(`notification to ${delivery.target} failed: ${delivery.detail}`);
}

async function exportMetrics(env: CommandEnv, config: Config): Promise<void> {
  const textfile = env.options.metricsTextfile;
  const gateway = config.metrics?.pushgateway;
  if (!textfile && !gateway) return;
  const { report, runs } = await readStatusOf({ ...env, recordedRuns: [] }, []);
  const text = await statusRegistry(report, runs).metrics();
  if (textfile) {
    await writeFileWhole(textfile, text, { mode: 0o644 }).catch((problem: unknown) =>
      env.log.warn(`could not write --metrics-textfile ${textfile}: ${(problem as Error).message}`),
    );
  }
  if (gateway) {
    const job = encodeURIComponent(config.metrics?.job ?? "lifeboat");
    const url = `${gateway.replace(/\/+$/, "")}/metrics/job/${job}/instance/${encodeURIComponent(hostname())}`;
    try {
      // PUT replaces this host's whole group: the status is a snapshot, not increments.
      const response = await fetch(url, {
        method: "PUT",
        headers: { "content-type": "text/plain; version=0.0.4" },
        body: text,
        signal: AbortSignal.timeout(PING_TIMEOUT_MS),
      });
      if (!response.ok)
        env.log.warn(
          `the Pushgateway answered HTTP ${response.status} ${redact((await response.text()).slice(0, 200))}`,
        );
    } catch (problem) {
      env.log.warn(`could not push metrics to the Pushgateway: ${redact((problem as Error).message)}`);
    }
  }
}
