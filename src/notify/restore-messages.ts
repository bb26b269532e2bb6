// What `restore --notify` posts during an incident (seed 003: a status update
// every 15 minutes with status, actions taken, next steps, estimated
// resolution time): a start, progress updates, an end. Webhooks get JSON with
// a stable `kind` and schema name (docs/notifications.md); Slack gets a line a
// phone shows. Every body passes the redaction step in send.ts's deliver.

import { formatSeconds } from "../domain/duration.ts";
import type { EtaBasis, RestorePrediction } from "../plan/restore-progress.ts";

export const RESTORE_NOTIFICATION_SCHEMA = "lifeboat.restore-notification/v1";

/** What is known when the restore begins. */
export interface RestoreStartFacts {
  /** Correlates the messages of one restore: its start time and a random suffix. */
  readonly restore: string;
  readonly startedAt: string;
  readonly host: string;
  /** The source (or, for restore --group, the group). */
  readonly source: string;
  readonly group: boolean;
  /** The snapshot (or bundle) id; null when it could not be found (the restore will say why). */
  readonly snapshot: string | null;
  /** Where it goes, redacted (for a group: MEMBER=TARGET, comma-separated). */
  readonly target: string;
  /** Bytes to restore; null when unknown. */
  readonly totalBytes: number | null;
  readonly partial: boolean;
  readonly rtoObjectiveSeconds: number | null;
  readonly prediction: RestorePrediction | null;
}

export interface RestoreProgressFacts {
  readonly at: string;
  readonly elapsedSeconds: number;
  /** e.g. "fetch", "restore", "verify"; for a group, "app-db: restore, cache: verify". */
  readonly phase: string;
  readonly bytesDone: number;
  readonly totalBytes: number | null;
  readonly percent: number | null;
  readonly bytesPerSecond: number | null;
  readonly etaSeconds: number | null;
  readonly etaBasis: EtaBasis | null;
}

export type RestoreEndOutcome = "restored" | "failed" | "interrupted";

export interface RestoreEndFacts {
  readonly at: string;
  readonly outcome: RestoreEndOutcome;
  /** The achieved RTO: the restore's wall time, seconds. */
  readonly seconds: number;
  readonly bytesDone: number;
  readonly verified: boolean;
  /** What was restored, in a line (snapshot, target, partial summary). */
  readonly restored: string | null;
  /** Readiness as the restore result reports it, when it does. */
  readonly readiness: unknown;
  readonly error: { readonly code: string; readonly message: string } | null;
}

const common = (facts: RestoreStartFacts) => ({
  schema: RESTORE_NOTIFICATION_SCHEMA,
  restore: facts.restore,
  source: facts.source,
  group: facts.group,
  host: facts.host,
});

export function restoreStartBody(facts: RestoreStartFacts) {
  const predicted = facts.prediction;
  return {
    ...common(facts),
    kind: "restore.start" as const,
    at: facts.startedAt,
    snapshot: facts.snapshot,
    target: facts.target,
    bytes: { total: facts.totalBytes },
    partial: facts.partial,
    rto: {
      objective: facts.rtoObjectiveSeconds,
      predicted: predicted
        ? {
            seconds: predicted.seconds,
            drill: predicted.drill,
            drilledAt: predicted.drilledAt,
            exceedsObjective:
              facts.rtoObjectiveSeconds === null ? null : predicted.seconds > facts.rtoObjectiveSeconds,
          }
        : null,
    },
  };
}

export function restoreProgressBody(facts: RestoreStartFacts, progress: RestoreProgressFacts) {
  return {
    ...common(facts),
    kind: "restore.progress" as const,
    at: progress.at,
    snapshot: facts.snapshot,
    elapsedSeconds: progress.elapsedSeconds,
    phase: progress.phase,
    bytes: { done: progress.bytesDone, total: progress.totalBytes, percent: progress.percent },
    bytesPerSecond: progress.bytesPerSecond,
    eta: {
      seconds: progress.etaSeconds,
      at:
        progress.etaSeconds === null
          ? null
          : new Date(Date.parse(progress.at) + progress.etaSeconds * 1000).toISOString(),
      basis: progress.etaBasis,
    },
  };
}

export function restoreEndBody(facts: RestoreStartFacts, end: RestoreEndFacts) {
  const objective = facts.rtoObjectiveSeconds;
  return {
    ...common(facts),
    kind: "restore.end" as const,
    at: end.at,
    outcome: end.outcome,
    snapshot: facts.snapshot,
    target: facts.target,
    rto: {
      achieved: end.seconds,
      objective,
      met: end.outcome === "restored" && objective !== null ? end.seconds <= objective : null,
    },
    bytes: { done: end.bytesDone, total: facts.totalBytes },
    verified: end.verified,
    restored: end.restored,
    readiness: end.readiness ?? null,
    error: end.error,
  };
}

export type RestoreNotificationBody =
  | ReturnType<typeof restoreStartBody>
  | ReturnType<typeof restoreProgressBody>
  | ReturnType<typeof restoreEndBody>;

/** Bytes for a chat line: 1.5 GiB. */
function bytes(value: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let scaled = value;
  let unit = 0;
  for (; scaled >= 1024 && unit < units.length - 1; unit++) scaled /= 1024;
  return `${unit === 0 ? scaled : scaled.toFixed(1)} ${units[unit]}`;
}

const what = (facts: RestoreStartFacts) => `${facts.group ? "group " : ""}${facts.source}`;
const objectiveText = (seconds: number | null) =>
  seconds === null ? "no RTO objective" : `objective ${formatSeconds(seconds)}`;

/** The Slack text of a body: status, what is being done, what comes next, when it should end. */
export function restoreSlackText(facts: RestoreStartFacts, body: RestoreNotificationBody): string {
  switch (body.kind) {
    case "restore.start": {
      const predicted = body.rto.predicted;
      return (
        `:rotating_light: Lifeboat restore of ${what(facts)} started on ${facts.host}: ` +
        `${facts.group ? "bundle" : "snapshot"} ${facts.snapshot?.slice(0, 12) ?? "(not found)"}` +
        `${facts.totalBytes === null ? "" : ` (${bytes(facts.totalBytes)}${facts.partial ? ", partial" : ""})`}` +
        ` into ${facts.target}. ` +
        (predicted
          ? `Predicted RTO ${formatSeconds(predicted.seconds)} (${objectiveText(body.rto.objective)}${predicted.exceedsObjective ? ", WOULD EXCEED it" : ""}; from drill ${predicted.drill}).`
          : `No drill history to predict the RTO (${objectiveText(body.rto.objective)}).`)
      );
    }
    case "restore.progress": {
      const done =
        body.bytes.total === null
          ? bytes(body.bytes.done)
          : `${bytes(body.bytes.done)} of ${bytes(body.bytes.total)} (${Math.floor(body.bytes.percent ?? 0)} %)`;
      const rate = body.bytesPerSecond === null ? "" : `, ${bytes(body.bytesPerSecond)}/s`;
      const eta =
        body.eta.seconds === null
          ? "ETA unknown"
          : `ETA ${formatSeconds(body.eta.seconds)} (${body.eta.basis === "measured_rate" ? "measured rate" : "predicted RTO"})`;
      return (
        `:hourglass_flowing_sand: Restore of ${what(facts)}, ${formatSeconds(body.elapsedSeconds)} in: ` +
        `phase ${body.phase}, ${done}${rate}; ${eta}.`
      );
    }
    case "restore.end": {
      const rto = `RTO ${formatSeconds(body.rto.achieved)} (${objectiveText(body.rto.objective)}${body.rto.met === null ? "" : body.rto.met ? " ✓" : " ✗ MISSED"})`;
      if (body.outcome === "restored")
        return (
          `:white_check_mark: Restore of ${what(facts)} finished: ${rto}; ${body.restored ?? "restored"}` +
          `${body.verified ? ", verified against its fingerprint" : ""}` +
          `${body.readiness === null ? "" : `; readiness: ${JSON.stringify(body.readiness).slice(0, 300)}`}.`
        );
      const why = body.error ? ` [${body.error.code}] ${body.error.message.slice(0, 500)}` : "";
      return body.outcome === "interrupted"
        ? `:octagonal_sign: Restore of ${what(facts)} was interrupted after ${formatSeconds(body.rto.achieved)}; re-running the restore is safe.${why}`
        : `:x: Restore of ${what(facts)} failed after ${formatSeconds(body.rto.achieved)}:${why}`;
    }
  }
}
