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
  return dataHeld(fingerprint).empty;
}

/**
 * How much data a fingerprint describes, judged by what holds data rather
 * than by what exists: tables with no rows are no data, nor is a tree of
 * empty directories. Engines' count keys decide: `rows:<table>` (databases),
 * `files`/`bytes` (trees), otherwise any non-zero counter.
 */
export function dataHeld(fingerprint: Fingerprint): { readonly empty: boolean; readonly detail: string } {
  const counts = fingerprint.counts;
  const tables = Object.keys(counts).filter((key) => key.startsWith("rows:"));
  if (tables.length > 0 || counts["objects:tables"] !== undefined) {
    const rows = tables.reduce((sum, key) => sum + (counts[key] ?? 0), 0);
    const largeObjects = counts["objects:large_objects"] ?? 0;
    const detail =
      `${rows} ${rows === 1 ? "row" : "rows"} in ${tables.length} ${tables.length === 1 ? "table" : "tables"}` +
      (largeObjects > 0 ? `, ${largeObjects} large objects` : "");
    return { empty: rows === 0 && largeObjects === 0, detail };
  }
  if (counts.files !== undefined) {
    const files = counts.files;
    const symlinks = counts.symlinks ?? 0;
    return {
      empty: files === 0 && symlinks === 0,
      detail: `${files} ${files === 1 ? "file" : "files"}, ${counts.bytes ?? 0} bytes`,
    };
  }
  // Brokers (nats): messages are the data; a purged stream keeps its sequence numbers but holds nothing.
  const streams = Object.keys(counts).filter((key) => key.startsWith("messages:"));
  if (streams.length > 0) {
    const messages = streams.reduce((sum, key) => sum + (counts[key] ?? 0), 0);
    return {
      empty: messages === 0,
      detail: `${messages} ${messages === 1 ? "message" : "messages"} in ${streams.length} ${streams.length === 1 ? "stream" : "streams"}`,
    };
  }
  // Key-value stores (redis): keys per database.
  const keySpaces = Object.keys(counts).filter((key) => /^keys:db\d+$/.test(key));
  if (keySpaces.length > 0) {
    const keys = keySpaces.reduce((sum, key) => sum + (counts[key] ?? 0), 0);
    return {
      empty: keys === 0,
      detail: `${keys} ${keys === 1 ? "key" : "keys"} in ${keySpaces.length} ${keySpaces.length === 1 ? "database" : "databases"}`,
    };
  }
  const populated = Object.values(counts).filter((value) => value !== 0).length;
  return { empty: populated === 0, detail: `${populated} non-zero counters` };
}
