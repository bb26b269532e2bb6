// A faster load of a mariadb-dump stream, with the same result: InnoDB
// builds a secondary index much faster by sorting once after the rows are in
// than by inserting into it row by row (what myloader's
// --innodb-optimize-keys does). So each CREATE TABLE loses its plain and
// unique secondary KEY lines, and after that table's rows one ALTER TABLE
// adds them all, in their original order, so the table ends exactly as
// dumped (parallel-load.ts puts it at the end of the table's section). Tables
// with a CONSTRAINT (a foreign key needs its index at creation; CHECKs are
// kept together) or a FULLTEXT or SPATIAL key are passed through untouched.

/** `CREATE TABLE \`a``b\` (` → a`b; the name as the dump quotes it, kept quoted for the ALTER. */
export function quotedName(line: string, prefix: string): string | undefined {
  const match = new RegExp(`^${prefix}(\`(?:[^\`]|\`\`)+\`)`).exec(line);
  return match?.[1];
}

/** Rewrite one CREATE TABLE statement's lines; returns them and the deferred key definitions. */
export function deferKeys(lines: readonly string[]): { lines: string[]; keys: string[] } {
  const body = lines.slice(1);
  const closing = body.findIndex((line) => line.startsWith(")"));
  if (closing < 0) return { lines: [...lines], keys: [] };
  const definitions = body.slice(0, closing);
  if (definitions.some((line) => /^\s+(CONSTRAINT|FULLTEXT|SPATIAL|VECTOR)\b/.test(line)))
    return { lines: [...lines], keys: [] };
  const isSecondary = (line: string) => /^\s+(UNIQUE )?KEY `/.test(line);
  const keys = definitions.filter(isSecondary).map((line) => line.trim().replace(/,$/, ""));
  if (keys.length === 0) return { lines: [...lines], keys: [] };
  const kept = definitions.filter((line) => !isSecondary(line)).map((line) => line.replace(/,$/, ""));
  const rejoined = kept.map((line, index) => (index < kept.length - 1 ? `${line},` : line));
  return { lines: [lines[0]!, ...rejoined, ...body.slice(closing)], keys };
}

export function alterFor(table: string, keys: readonly string[]): string {
  return `ALTER TABLE ${table} ${keys.map((key) => `ADD ${key}`).join(", ")};\n`;
}
