// One runbook checked: each marker validated (its keys, the node it governs),
// then handed to the check of its kind. Every problem becomes a drift stamped
// with the file, the line and the marker, so the report says where to look.

import { checkCronJob } from "./check-cronjob.ts";
import { checkLifeboat } from "./check-lifeboat.ts";
import { checkModule } from "./check-module.ts";
import { checkObjectives } from "./check-objectives.ts";
import { checkProgram } from "./check-program.ts";
import { checkSchedules } from "./check-schedules.ts";
import { checkSource } from "./check-source.ts";
import type { Check, CheckContext, Drift, Finding } from "./drift.ts";
import { findMarkers, type Marker } from "./markers.ts";
import { baseName } from "./shell.ts";

interface MarkerKind {
  /** The companion keys this kind requires. */
  readonly requires: readonly string[];
  /** Whether the primary key stands alone (`objectives`) or has a value (`source=NAME`). */
  readonly bare: boolean;
  readonly governs: "code" | "table";
  readonly check: (marker: Marker) => Check;
}

const kinds: Record<string, MarkerKind> = {
  cronjob: { requires: ["manifest"], bare: false, governs: "code", check: () => checkCronJob },
  cli: {
    requires: ["command"],
    bare: false,
    governs: "code",
    check: (marker) =>
      marker.syntax.ok && baseName(String(marker.syntax.fields.get("cli"))) === "lifeboat"
        ? checkLifeboat
        : checkProgram,
  },
  module: { requires: ["callable"], bare: false, governs: "code", check: () => checkModule },
  source: { requires: [], bare: false, governs: "code", check: () => checkSource },
  objectives: { requires: [], bare: true, governs: "table", check: () => checkObjectives },
  schedules: { requires: [], bare: true, governs: "table", check: () => checkSchedules },
};

export const markerKeys: readonly string[] = [
  ...Object.keys(kinds),
  ...new Set(Object.values(kinds).flatMap((kind) => kind.requires)),
];

/** Why the marker cannot be checked, or the check that applies to it. */
function validate(marker: Marker): Finding | { readonly check: Check } {
  if (!marker.syntax.ok) return { kind: "marker-malformed", message: marker.syntax.problem };
  const fields = marker.syntax.fields;
  const unknown = [...fields.keys()].filter((key) => !markerKeys.includes(key));
  if (unknown.length)
    return {
      kind: "marker-unknown-key",
      message: `unknown key${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} (known: ${markerKeys.join(", ")})`,
    };
  const primaries = [...fields.keys()].filter((key) => key in kinds);
  if (primaries.length !== 1)
    return {
      kind: "marker-malformed",
      message: primaries.length
        ? `one check per marker: ${primaries.join(" and ")} given`
        : `no check named: give one of ${Object.keys(kinds).join(", ")}`,
    };
  const primary = primaries[0]!;
  const kind = kinds[primary]!;
  for (const key of fields.keys()) {
    const value = fields.get(key);
    if (key !== primary && !kind.requires.includes(key))
      return { kind: "marker-malformed", message: `${key} does not belong to a ${primary} marker` };
    if (key === primary && kind.bare && value !== true)
      return { kind: "marker-malformed", message: `${primary} takes no value` };
    if (!(key === primary && kind.bare) && (typeof value !== "string" || value.trim() === ""))
      return { kind: "marker-malformed", message: `${key} needs a value (${key}=...)` };
  }
  const missing = kind.requires.filter((key) => !fields.has(key));
  if (missing.length)
    return {
      kind: "marker-malformed",
      message: `a ${primary} marker needs ${missing.map((key) => `${key}=...`).join(" ")}`,
    };
  if (kind.governs === "code" ? !marker.code : !marker.table)
    return {
      kind: "marker-orphan",
      message: `no ${kind.governs === "code" ? "code block" : "table"} follows the marker before the next marker or heading`,
    };
  return { check: kind.check(marker) };
}

export interface RunbookResult {
  readonly markers: number;
  readonly drifts: readonly Drift[];
}

export async function checkRunbook(
  file: string,
  markdown: string,
  context: CheckContext,
): Promise<RunbookResult> {
  const markers = findMarkers(markdown);
  const drifts: Drift[] = [];
  for (const marker of markers) {
    const validated = validate(marker);
    const findings = "check" in validated ? await validated.check(marker, context) : [validated];
    for (const finding of findings) {
      drifts.push({
        file,
        line: finding.line ?? marker.line,
        kind: finding.kind,
        marker: marker.text,
        message: finding.message,
        runbook: finding.runbook ?? null,
        deployed: finding.deployed ?? null,
      });
    }
  }
  return { markers: markers.length, drifts };
}
