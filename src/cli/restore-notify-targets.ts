// restore --notify's settings: the notify targets of lifeboat.yaml with their
// update intervals (each target's progress_interval, or --notify-interval for
// all), and the delivery timeout (--notify-timeout). Bad values fail before
// anything is restored.

import { parseDuration } from "../domain/duration.ts";
import type { Config } from "../engines/config.ts";
import { LifeboatError } from "../errors.ts";
import type { RestoreNotifyTarget } from "../notify/restore-notifier.ts";

/** Seed 003's incident plan: a status update every 15 minutes. */
export const DEFAULT_PROGRESS_INTERVAL_SECONDS = 15 * 60;
export const DEFAULT_NOTIFY_TIMEOUT_SECONDS = 10;
/** After SIGTERM the end message gets at most this long: stopping promptly comes first. */
export const INTERRUPTED_END_BUDGET_MS = 3_000;
/** Updates more often than this would flood a channel; a test uses 1s. */
const MIN_INTERVAL_SECONDS = 1;

export interface RestoreNotifyFlags {
  readonly notify?: boolean;
  /** --notify-interval: every target's interval (overrides each target's progress_interval). */
  readonly notifyInterval?: string;
  /** --notify-timeout: how long one delivery may take. */
  readonly notifyTimeout?: string;
}

/** The declared notify targets with their update intervals; Slack entries whose variable is unset are skipped. */
export function restoreNotifyTargets(
  config: Config,
  flags: RestoreNotifyFlags,
  env: NodeJS.ProcessEnv = process.env,
): { targets: RestoreNotifyTarget[]; problems: string[] } {
  const override =
    flags.notifyInterval === undefined ? undefined : interval("--notify-interval", flags.notifyInterval);
  const targets: RestoreNotifyTarget[] = [];
  const problems: string[] = [];
  for (const entry of config.notify) {
    const every =
      override ??
      (entry.progress_interval ? parseDuration(entry.progress_interval) : DEFAULT_PROGRESS_INTERVAL_SECONDS);
    if ("webhook" in entry) targets.push({ kind: "webhook", url: entry.webhook, intervalSeconds: every });
    else {
      const url = env[entry.slack_webhook_env];
      if (url) targets.push({ kind: "slack", url, intervalSeconds: every });
      else problems.push(`Slack notification skipped: ${entry.slack_webhook_env} is not set`);
    }
  }
  return { targets, problems };
}

export function interval(flag: string, text: string): number {
  let seconds: number;
  try {
    seconds = parseDuration(text);
  } catch {
    throw new LifeboatError("BAD_ARGUMENT", `${flag} ${text}: not a duration`, {
      hint: "e.g. 15m, 5m or 30s",
    });
  }
  if (seconds < MIN_INTERVAL_SECONDS)
    throw new LifeboatError("BAD_ARGUMENT", `${flag} ${text}: at least ${MIN_INTERVAL_SECONDS}s`);
  return seconds;
}

export function timeoutMs(flags: RestoreNotifyFlags): number {
  if (flags.notifyTimeout === undefined) return DEFAULT_NOTIFY_TIMEOUT_SECONDS * 1000;
  try {
    const seconds = parseDuration(flags.notifyTimeout);
    if (seconds > 0) return seconds * 1000;
  } catch {
    // reported below
  }
  throw new LifeboatError(
    "BAD_ARGUMENT",
    `--notify-timeout ${flags.notifyTimeout}: not a positive duration`,
    {
      hint: "e.g. 10s",
    },
  );
}
