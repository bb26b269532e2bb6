// Shared parts of `check` for both formats: which errors are data problems
// of an object, the result of checking the data, and the random sample a
// partial --read-data reads.

import { randomInt } from "node:crypto";
import { isLifeboatError } from "../errors.ts";
import type { CheckProblem } from "./types.ts";

export interface DataCheck {
  readonly problems: CheckProblem[];
  /** Objects (chunks in format 1, packs in format 2) the snapshots reference. */
  readonly referenced: number;
  readonly read: number;
  readonly unreferenced: number;
}

export function problemOf(error: unknown, object: string, snapshots: readonly string[]): CheckProblem {
  if (
    isLifeboatError(error) &&
    (error.code === "CHECKSUM_MISMATCH" ||
      error.code === "OBJECT_MISSING" ||
      error.code === "OBJECT_TRUNCATED")
  ) {
    return { code: error.code, object, message: error.message, snapshots };
  }
  // Anything else (a newer format, a storage failure) is not a data problem of this object: let it surface.
  throw error;
}

function shuffled<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** How many of `items` a check of `percent` % reads, chosen at random. */
export function sampleOf<T>(items: readonly T[], percent: number): T[] {
  const share = Math.min(100, Math.max(0, percent));
  return share >= 100 ? [...items] : shuffled([...items]).slice(0, Math.ceil((items.length * share) / 100));
}
