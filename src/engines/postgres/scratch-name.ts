// The name of a drill's scratch database. It is derived from the drill's
// label (source name + drill id, whose random tail makes it unique), so a
// scratch database left behind is recognisable and two drills side by side
// never share one. PostgreSQL cuts identifiers at 63 bytes: a long label
// loses the middle, never its unique tail.

import { maxNameBytes } from "./target.ts";

export const scratchPrefix = "lifeboat_drill_";

/** How much of the label's end is always kept: a drill id is `YYYYMMDDTHHMMSSZ-xxxxxx` (23 characters). */
const keptTail = 23;

export function scratchDatabaseName(label: string): string {
  // Lower case ASCII only: the name can be typed unquoted in psql and in a user's check.
  const clean =
    label
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, "_")
      .replace(/^_+|_+$/g, "") || "scratch";
  const whole = scratchPrefix + clean;
  if (whole.length <= maxNameBytes) return whole;
  const tail = clean.slice(-keptTail);
  const head = clean.slice(0, maxNameBytes - scratchPrefix.length - tail.length - 1);
  return `${scratchPrefix}${head}_${tail}`;
}
