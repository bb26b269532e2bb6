// Which snapshots `lifeboat copy` writes to the destination: a pure function
// of both listings, so --dry-run plans exactly what a real run copies.
//
// How a copy is recognised: not by its id. A snapshot id is the SHA-256 of
// its manifest, which lists chunk ids, and chunk ids are HMAC-SHA-256 under
// each repository's own MAC key (docs/repository-format.md): the same data
// gets other chunk ids, so another manifest id, in every repository. A copy
// keeps every fact the capture recorded, so the plan matches snapshots by
// those: source, engine, startedAt, finishedAt, consistentAt, hostname and
// fingerprint. Two different captures never agree on all of them (their
// start times alone differ), and a snapshot copied once is found by the next
// run, which copies nothing more.
//
// A damaged manifest in the source is never copied (its content is unknown);
// it is listed so the command can warn. A damaged manifest in the destination
// cannot be matched either: a snapshot it might have been a copy of is copied
// again, which costs space, never data.

import type { Snapshot } from "../domain/snapshot.ts";
import type { DamagedSnapshot } from "../repository/types.ts";

export interface CopyPlanInput {
  readonly source: { readonly snapshots: readonly Snapshot[]; readonly damaged: readonly DamagedSnapshot[] };
  readonly destination: readonly Snapshot[];
  /** Only snapshots of these sources; every source when empty. */
  readonly sources: readonly string[];
}

export interface PresentCopy {
  readonly snapshot: Snapshot;
  /** The destination's id for the same capture. */
  readonly destinationId: string;
}

export interface CopyPlan {
  /** Source snapshots the destination lacks, oldest first. */
  readonly copy: readonly Snapshot[];
  /** Source snapshots the destination already holds. */
  readonly present: readonly PresentCopy[];
  /** Source manifests that cannot be read: skipped. */
  readonly damaged: readonly DamagedSnapshot[];
}

export function planCopy(input: CopyPlanInput): CopyPlan {
  const wanted = (snapshot: Snapshot) =>
    input.sources.length === 0 || input.sources.includes(snapshot.source);
  const held = new Map(input.destination.map((snapshot) => [captureKey(snapshot), snapshot.id]));
  const copy: Snapshot[] = [];
  const present: PresentCopy[] = [];
  const planned = new Set<string>();
  for (const snapshot of input.source.snapshots.filter(wanted)) {
    const key = captureKey(snapshot);
    const destinationId = held.get(key);
    if (destinationId !== undefined) {
      present.push({ snapshot, destinationId });
      continue;
    }
    // The source holding the same capture twice (copied in from elsewhere twice) copies it once.
    if (planned.has(key)) continue;
    planned.add(key);
    copy.push(snapshot);
  }
  return { copy, present, damaged: [...input.source.damaged] };
}

/** The facts that identify a capture across repositories (see the header). */
export function captureKey(snapshot: Snapshot): string {
  const { source, engine, startedAt, finishedAt, consistentAt, hostname, fingerprint } = snapshot;
  return canonicalJson([source, engine, startedAt, finishedAt, consistentAt, hostname, fingerprint]);
}

/** JSON with object keys sorted: a fingerprint's key order is not part of its meaning. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
