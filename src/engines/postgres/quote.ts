// Quoting identifiers and literals for the SQL Lifeboat writes itself, the
// way node-postgres's escapeIdentifier/escapeLiteral do (quote.test.ts holds
// them to it): here so that a command which only quotes a name does not load
// the whole client library (connection.ts loads it on the first connection).

/** `"name"`, inner double quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `'text'`, quotes doubled; with a backslash in it, ` E'…'` and backslashes doubled. */
export function quoteLiteral(text: string): string {
  let backslash = false;
  let quoted = "'";
  for (const character of text) {
    if (character === "'") quoted += "''";
    else if (character === "\\") {
      quoted += "\\\\";
      backslash = true;
    } else quoted += character;
  }
  quoted += "'";
  return backslash ? ` E${quoted}` : quoted;
}
