// Durations as runbooks write them (90s, 15m, 4h, 7d), and back to text.

import { LifeboatError } from "../errors.ts";

const unitSeconds: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds in a duration such as "15m"; BAD_CONFIG for anything else. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) {
    throw new LifeboatError("BAD_CONFIG", `"${text}" is not a duration; use e.g. 500ms, 90s, 15m, 4h or 7d`);
  }
  return Number(match[1]) * (unitSeconds[match[2]!] ?? 1);
}

/** A short human form: 0.4s, 12.3s, 4m 05s, 2h 10m, 3d 4h. */
export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(Math.round(seconds % 60)).padStart(2, "0")}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${String(minutes % 60).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}
