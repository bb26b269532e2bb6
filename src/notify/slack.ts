// The Slack incoming-webhook message for a drill: a one-line summary (what
// the phone notification shows) and blocks with the figures that matter.

import { formatSeconds } from "../domain/duration.ts";
import type { DrillReport, ObjectiveOutcome } from "../domain/drill-report.ts";
import type { RunRecord } from "../domain/run-record.ts";

const icon: Record<DrillReport["status"], string> = {
  passed: ":white_check_mark:",
  objective_missed: ":warning:",
  verification_failed: ":x:",
  error: ":rotating_light:",
};

function objective(name: string, outcome: ObjectiveOutcome): string {
  const achieved = outcome.achieved === null ? "n/a" : formatSeconds(outcome.achieved);
  const target = outcome.objective === null ? "none" : formatSeconds(outcome.objective);
  const met = outcome.met === null ? "" : outcome.met ? " ✓" : " ✗ MISSED";
  return `*${name}* ${achieved} (objective ${target})${met}`;
}

export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly Record<string, unknown>[];
}

export function slackMessage(report: DrillReport): SlackMessage {
  const text = `${icon[report.status]} Lifeboat drill of ${report.source}: ${report.status.replace("_", " ")}`;
  const failed = report.checks.filter((check) => check.result !== "passed");
  const lines = [
    objective("RTO", report.rto),
    objective("RPO", report.rpo),
    `*Snapshot* ${report.snapshot.id?.slice(0, 8) ?? "none"} · *checks* ${report.checks.length - failed.length}/${report.checks.length} passed`,
    ...failed.map((check) => `• ${check.name}: ${check.detail}`),
    ...report.issues.slice(0, 5).map((issue) => `• ${issue}`),
  ];
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text } },
      { type: "section", text: { type: "mrkdwn", text: lines.join("\n").slice(0, 2900) } },
      {
        type: "context",
        elements: [
          { type: "mrkdwn", text: `${report.operator} · ${report.environment} · report ${report.id}` },
        ],
      },
    ],
  };
}

/** A failed backup, check or prune, for a phone screen: what failed, where, and the error. */
export function slackRunFailure(record: RunRecord): SlackMessage {
  const what = record.source ? `${record.operation} of ${record.source}` : record.operation;
  const text = `:rotating_light: Lifeboat ${what} failed on ${record.hostname}`;
  const error = record.error ? `*${record.error.code}*: ${record.error.message}` : "";
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `*${text}*` } },
      {
        type: "section",
        text: {
          type: "mrkdwn",
          text: `${error}\nstarted ${record.startedAt}, ${formatSeconds(record.seconds)}; run \`lifeboat status\` for the whole picture`,
        },
      },
    ],
  };
}
