// The clock of a drill's phases: each phase runs from the end of the
// previous one, so the phases add up to the drill's wall time and the RTO
// is their sum up to "verified".

import type { DrillPhases } from "../domain/drill-report.ts";

export class PhaseClock {
  readonly phases: DrillPhases = {};
  readonly #now: () => number;
  #current: keyof DrillPhases = "select";
  #mark: number;

  constructor(now: () => number, startMs: number) {
    this.#now = now;
    this.#mark = startMs;
  }

  /** The phase running now (named in errors: "restore: [CODE] ..."). */
  get current(): keyof DrillPhases {
    return this.#current;
  }

  /** When the current phase began (ms): the end of the previous one. */
  get mark(): number {
    return this.#mark;
  }

  /** End the current phase now and start `next`. */
  lap(next: keyof DrillPhases): void {
    const now = this.#now();
    this.phases[this.#current] = (this.phases[this.#current] ?? 0) + (now - this.#mark) / 1000;
    this.#current = next;
    this.#mark = now;
  }

  /**
   * The current phase's time was measured inside it, in finer phases (an
   * engine's lay-down, replay, promote): record those, give the current
   * phase what they leave of its wall time (so the phases still add up),
   * and start `next` now.
   */
  replaceWith(measured: Partial<Record<keyof DrillPhases, number>>, next: keyof DrillPhases): void {
    const now = this.#now();
    let inside = 0;
    for (const [phase, seconds] of Object.entries(measured) as [keyof DrillPhases, number][]) {
      this.phases[phase] = (this.phases[phase] ?? 0) + seconds;
      inside += seconds;
    }
    const rest = Math.max(0, (now - this.#mark) / 1000 - inside);
    this.phases[this.#current] = (this.phases[this.#current] ?? 0) + rest;
    this.#current = next;
    this.#mark = now;
  }
}
