// A fingerprint is a set of facts about the data, taken at the same
// consistent point as a backup (row counts per table, object counts, a tree
// hash). A restore is proved by fingerprinting the target and comparing.
// The shape is engine-agnostic on purpose: comparison and reporting never
// need to know which engine produced it.

export interface Fingerprint {
  /** Counters compared exactly, e.g. `rows:public.bookings`, `objects:tables`, `files`, `bytes`. */
  readonly counts: Readonly<Record<string, number>>;
  /** Digests compared exactly, e.g. `tree` (files) or `content:public.bookings` (deep checks). */
  readonly hashes: Readonly<Record<string, string>>;
}

export interface FingerprintDifference {
  readonly key: string;
  readonly expected: number | string | undefined;
  readonly actual: number | string | undefined;
}

/** Every key present on either side must agree; a key missing on one side is a difference. */
export function compareFingerprints(expected: Fingerprint, actual: Fingerprint): FingerprintDifference[] {
  const differences: FingerprintDifference[] = [];
  const compare = (left: Readonly<Record<string, number | string>>, right: typeof left) => {
    const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort();
    for (const key of keys) {
      if (left[key] !== right[key]) differences.push({ key, expected: left[key], actual: right[key] });
    }
  };
  compare(expected.counts, actual.counts);
  compare(expected.hashes, actual.hashes);
  return differences;
}

/** True when the fingerprint describes no data at all: no rows, no files. A restore of nothing proves nothing. */
export function isEmptyFingerprint(fingerprint: Fingerprint): boolean {
  return Object.values(fingerprint.counts).every((value) => value === 0);
}
