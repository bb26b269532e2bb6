// Delivering drill reports and failed runs: a generic JSON webhook (the
// report or run record itself) and a Slack incoming webhook. A notification that cannot be delivered never
// changes the drill's result; it is returned as an issue for the report.
// Bodies pass the redaction step; webhook URLs are secrets themselves.

import type { DrillReport } from "../domain/drill-report.ts";
import type { RunRecord } from "../domain/run-record.ts";
import { redact, redactDeep, registerSecret } from "../runtime/redact.ts";
import { slackMessage, slackRunFailure } from "./slack.ts";

export type NotifyWhen = "always" | "failure";

export type NotifyTarget =
  | { readonly kind: "webhook"; readonly url: string; readonly on: NotifyWhen }
  | { readonly kind: "slack"; readonly url: string; readonly on: NotifyWhen };

export interface Delivery {
  readonly target: string;
  readonly ok: boolean;
  readonly detail: string;
}

type Fetch = typeof fetch;

function wanted(target: NotifyTarget, report: DrillReport): boolean {
  return target.on === "always" || report.status !== "passed";
}

/** Where a webhook points: its host only. The path is a credential (Slack's, Teams', most webhooks' tokens). */
function describe(target: Pick<NotifyTarget, "kind" | "url">): string {
  const url = new URL(target.url);
  return `${target.kind} (${url.host})`;
}

export function notify(
  report: DrillReport,
  targets: readonly NotifyTarget[],
  options: { fetch?: Fetch; timeoutMs?: number } = {},
): Promise<Delivery[]> {
  const chosen = targets.filter((target) => wanted(target, report));
  return deliver(
    chosen,
    (target) => (target.kind === "slack" ? slackMessage(report) : report),
    report.lifeboatVersion,
    options,
  );
}

/**
 * A failed backup, check or prune: every target hears of it (a failure is
 * what `on: failure` asks for). Webhooks get the run record, Slack a summary.
 */
export function notifyRunFailure(
  record: RunRecord,
  targets: readonly NotifyTarget[],
  options: { fetch?: Fetch; timeoutMs?: number } = {},
): Promise<Delivery[]> {
  if (record.outcome !== "failed") return Promise.resolve([]);
  return deliver(
    targets,
    (target) => (target.kind === "slack" ? slackRunFailure(record) : record),
    record.lifeboatVersion,
    options,
  );
}

/**
 * Post a body to each target, whatever its `on:` (callers choose the targets):
 * redacted, Slack URLs registered as secrets first, failures returned, never thrown.
 */
export async function deliver(
  targets: readonly Pick<NotifyTarget, "kind" | "url">[],
  bodyFor: (target: Pick<NotifyTarget, "kind" | "url">) => unknown,
  version: string,
  options: { fetch?: Fetch; timeoutMs?: number },
): Promise<Delivery[]> {
  const send = options.fetch ?? fetch;
  const deliveries: Delivery[] = [];
  // A Slack webhook URL is a credential: it must not show up in another target's body or an error.
  for (const target of targets) if (target.kind === "slack") registerSecret(target.url);
  for (const target of targets) {
    const body = redactDeep(bodyFor(target));
    try {
      const response = await send(target.url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": `lifeboat/${version}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      deliveries.push({
        target: describe(target),
        ok: response.ok,
        detail: response.ok
          ? `HTTP ${response.status}`
          : `HTTP ${response.status} ${redact((await response.text()).slice(0, 200))}`,
      });
    } catch (error) {
      deliveries.push({ target: describe(target), ok: false, detail: redact((error as Error).message) });
    }
  }
  return deliveries;
}
