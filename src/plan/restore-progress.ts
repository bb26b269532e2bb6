// The arithmetic of a restore's progress updates (restore --notify): the
// throughput measured over a recent window, the ETA from that rate (or, before
// data flows, from the RTO predicted by the source's drill history), and that
// prediction itself. Pure functions and one small sample buffer: no clock, no I/O.

import type { DrillReport } from "../domain/drill-report.ts";

/** How far back the throughput looks: long enough to smooth bursts, short enough to see a stall. */
export const RATE_WINDOW_MS = 60_000;
/** Samples closer together than this are merged (advance() is called per chunk). */
const SAMPLE_SPACING_MS = 250;
/** Below this span a rate is noise (the first chunk's burst), not a measurement. */
const MIN_RATE_SPAN_MS = 500;

interface Sample {
  readonly atMs: number;
  readonly bytes: number;
}

/** Cumulative byte counts over time, keeping only what the rate window needs. */
export class RateWindow {
  readonly #windowMs: number;
  #samples: Sample[] = [];

  constructor(windowMs: number = RATE_WINDOW_MS) {
    this.#windowMs = windowMs;
  }

  /** `bytes` done in total at `atMs` (never less than an earlier sample). */
  add(atMs: number, bytes: number): void {
    const last = this.#samples.at(-1);
    if (last && atMs - last.atMs < SAMPLE_SPACING_MS && this.#samples.length > 1) {
      this.#samples[this.#samples.length - 1] = { atMs, bytes };
    } else this.#samples.push({ atMs, bytes });
    // Keep one sample at or before the window's start, so the rate spans the whole window.
    const start = atMs - this.#windowMs;
    while (this.#samples.length > 2 && this.#samples[1]!.atMs <= start) this.#samples.shift();
  }

  /**
   * Bytes per second from the window's oldest sample to `nowMs`: a stall
   * (no bytes since) lowers it, as it should. null until the span is long
   * enough to mean something.
   */
  rate(nowMs: number): number | null {
    const start = nowMs - this.#windowMs;
    const first = this.#samples.findLast((sample) => sample.atMs <= start) ?? this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last) return null;
    const span = nowMs - first.atMs;
    if (span < MIN_RATE_SPAN_MS) return null;
    return (last.bytes - first.bytes) / (span / 1000);
  }
}

/** What the source's drill history predicts for restoring a snapshot of a given size. */
export interface RestorePrediction {
  /** Fetch, restore and verify of the newest drill scaled by bytes to restore / bytes drilled, plus its hooks and time to ready. */
  readonly seconds: number;
  /** The share of `seconds` after the data transfer: verify, after_restore hooks, readiness. */
  readonly afterTransferSeconds: number;
  /** The drill report it comes from. */
  readonly drill: string;
  readonly drilledAt: string;
  /** Restore throughput that drill measured (snapshot bytes / fetch+restore seconds). */
  readonly bytesPerSecond: number;
}

/**
 * The RTO a restore of `bytes` should take, going by the newest drill of
 * `source` that restored (it has fetch/restore phases and a snapshot size).
 * Restores grow with the data (drill/run.ts's predictRto scales by source
 * growth); here the bytes to restore are known, so the drill's restore time
 * scales by them (its hooks and time to ready are added as measured). Provisioning a scratch target is a drill's own cost and is
 * left out. null without such a drill.
 */
export function predictRestore(
  drills: readonly DrillReport[],
  source: string,
  bytes: number | null,
): RestorePrediction | null {
  const usable = drills
    .filter((report) => report.source === source && (report.snapshot.size ?? 0) > 0)
    .filter((report) => (report.phases.fetch ?? 0) + (report.phases.restore ?? 0) > 0)
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  const newest = usable[0];
  if (!newest) return null;
  const drilled = newest.snapshot.size!;
  const transfer = (newest.phases.fetch ?? 0) + (newest.phases.restore ?? 0);
  const scale = bytes === null || bytes <= 0 ? 1 : bytes / drilled;
  // Hooks and readiness do not grow with the data; verifying does.
  const after = (newest.phases.verify ?? 0) * scale + (newest.phases.hooks ?? 0) + (newest.phases.ready ?? 0);
  return {
    seconds: transfer * scale + after,
    afterTransferSeconds: after,
    drill: newest.id,
    drilledAt: newest.startedAt,
    bytesPerSecond: drilled / transfer,
  };
}

export interface EstimateInput {
  readonly elapsedSeconds: number;
  readonly bytesDone: number;
  /** null: unknown (a partial restore reads an unknown share of the snapshot). */
  readonly totalBytes: number | null;
  /** The measured recent rate (RateWindow.rate); null before there is one. */
  readonly bytesPerSecond: number | null;
  readonly prediction: Pick<RestorePrediction, "seconds" | "afterTransferSeconds"> | null;
}

export type EtaBasis = "measured_rate" | "predicted_rto";

export interface Estimate {
  /** Seconds until the restore should end; null when nothing honest can be said. */
  readonly etaSeconds: number | null;
  readonly basis: EtaBasis | null;
  /** Share of the bytes done, 0..100; null without a total. */
  readonly percent: number | null;
}

/**
 * The ETA of a restore in progress. While bytes remain and flow, the
 * measured rate says how long the rest takes, plus what the drill history
 * predicts after it (verify, hooks, readiness). Before there is a rate (or once every
 * byte is through and only verifying is left) the predicted RTO minus the
 * time spent is the best guess; past the prediction, or without one, there
 * is no ETA rather than a made-up one.
 */
export function estimate(input: EstimateInput): Estimate {
  const { totalBytes, bytesDone, bytesPerSecond, prediction } = input;
  const percent =
    totalBytes !== null && totalBytes > 0 ? Math.min(100, (bytesDone / totalBytes) * 100) : null;
  const remaining = totalBytes === null ? null : Math.max(totalBytes - bytesDone, 0);
  if (remaining !== null && remaining > 0 && bytesPerSecond !== null && bytesPerSecond > 0) {
    return {
      etaSeconds: remaining / bytesPerSecond + (prediction?.afterTransferSeconds ?? 0),
      basis: "measured_rate",
      percent,
    };
  }
  if (prediction) {
    const left = prediction.seconds - input.elapsedSeconds;
    if (left > 0) return { etaSeconds: left, basis: "predicted_rto", percent };
  }
  return { etaSeconds: null, basis: null, percent };
}
