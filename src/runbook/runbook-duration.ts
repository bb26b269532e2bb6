// Durations as runbook tables write them: lifeboat.yaml's own form (15m,
// 24h) and the spelled-out forms people type (15 min, 1 hour, 300 s). They
// are compared in seconds, so "5m", "300s" and "5 minutes" are the same.

import { parseDuration } from "../domain/duration.ts";

const units: Record<string, string> = {
  ms: "ms",
  s: "s",
  sec: "s",
  secs: "s",
  second: "s",
  seconds: "s",
  m: "m",
  min: "m",
  mins: "m",
  minute: "m",
  minutes: "m",
  h: "h",
  hr: "h",
  hrs: "h",
  hour: "h",
  hours: "h",
  d: "d",
  day: "d",
  days: "d",
};

/** Seconds, or undefined when the text is no duration. */
export function runbookSeconds(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(text.trim());
  const unit = match ? units[match[2]!.toLowerCase()] : undefined;
  return match && unit ? parseDuration(`${match[1]}${unit}`) : undefined;
}

/** A cell that states no value: empty, a dash, n/a. */
export function isEmptyCell(text: string): boolean {
  return /^(|-+|—|–|n\/?a|none)$/i.test(text.trim());
}
