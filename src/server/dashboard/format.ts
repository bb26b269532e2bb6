// Words and figures the dashboard pages share: durations (formatSeconds),
// ages, UTC times and "achieved against objective", each with its meaning
// in words so nothing depends on colour alone.

import { formatSeconds } from "../../domain/duration.ts";
import type { Verdict } from "../../domain/status.ts";
import { html, type Html } from "./html.ts";

export const duration = (seconds: number | null | undefined): string =>
  seconds === null || seconds === undefined ? "n/a" : formatSeconds(seconds);

export const ago = (seconds: number | null | undefined): string =>
  seconds === null || seconds === undefined ? "never" : `${formatSeconds(Math.max(0, seconds))} ago`;

/** Seconds from `at` to `now` (both ISO-8601); null when either does not parse. */
export function secondsBetween(at: string, now: string): number | null {
  const seconds = (Date.parse(now) - Date.parse(at)) / 1000;
  return Number.isFinite(seconds) ? seconds : null;
}

/** 2026-12-02 11:00:05 UTC, in a <time> element carrying the exact instant. */
export function utc(iso: string): Html {
  const shown = iso.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC");
  return html`<time datetime="${iso}">${shown}</time>`;
}

/** An age against a limit: "within RPO 1h 00m" or "OVER RPO 1h 00m by 25m 00s". */
export function ageAgainst(label: string, age: number | null, limit: number | null): Html {
  if (limit === null) return html`<span class="muted">no ${label} objective declared</span>`;
  if (age === null) return html`<span class="muted">${label} objective ${formatSeconds(limit)}</span>`;
  return age <= limit
    ? html`<span class="good">within ${label} ${formatSeconds(limit)}</span>`
    : html`<span class="bad">OVER ${label} ${formatSeconds(limit)} by ${formatSeconds(age - limit)}</span>`;
}

/** An achieved value against its objective: "4m 05s of 15m 00s (met)". */
export function achievedAgainst(outcome: {
  readonly objective: number | null;
  readonly achieved: number | null;
  readonly met: boolean | null;
}): Html {
  const achieved = outcome.achieved === null ? "not measured" : formatSeconds(outcome.achieved);
  if (outcome.objective === null) return html`${achieved} <span class="muted">(no objective)</span>`;
  const word =
    outcome.met === null
      ? html`<span class="muted">(not measured)</span>`
      : outcome.met
        ? html`<span class="good">(met)</span>`
        : html`<span class="bad">(MISSED)</span>`;
  return html`${achieved} of ${formatSeconds(outcome.objective)} ${word}`;
}

export const verdictWords: Record<Verdict, string> = {
  ok: "OK",
  stale: "STALE",
  failing: "FAILING",
  never_drilled: "NEVER DRILLED",
};

/** The verdict as a badge: its colour and its word, so it reads in greyscale and to a screen reader. */
export function verdictBadge(verdict: Verdict): Html {
  return html`<span class="badge verdict-${verdict}" data-verdict="${verdict}">${verdictWords[verdict]}</span>`;
}

const drillWords: Record<string, string> = {
  passed: "passed",
  objective_missed: "objective missed",
  verification_failed: "verification failed",
  error: "error",
};

/** A drill status in words, styled by whether it proved the source restores within its objectives. */
export function drillStatusBadge(status: string): Html {
  const tone = status === "passed" ? "good" : status === "objective_missed" ? "warn" : "bad";
  return html`<span class="status ${tone}" data-status="${status}">${drillWords[status] ?? status}</span>`;
}

export function bytes(count: number | null): string {
  if (count === null) return "n/a";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
