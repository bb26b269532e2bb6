// Scripts compared as a reader compares them: each line trimmed, blank lines
// dropped. Indentation inside a YAML block scalar or a Markdown fence, and a
// trailing newline, are not differences anyone means.

export function normaliseScript(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/** The first line (0-based) at which two normalised scripts differ, or -1 when they are equal. */
export function firstDifference(a: readonly string[], b: readonly string[]): number {
  const length = Math.max(a.length, b.length);
  for (let index = 0; index < length; index++) if (a[index] !== b[index]) return index;
  return -1;
}

/** Whitespace runs as one space, ends trimmed: how cron strings and table cells are compared. */
export function collapseSpaces(text: string): string {
  return text.trim().replace(/\s+/g, " ");
}
