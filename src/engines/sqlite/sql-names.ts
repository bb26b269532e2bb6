// The identifiers a CREATE TRIGGER or CREATE VIEW statement mentions, for
// deciding whether it can come along with a table restore. Not a parser: a
// tokenizer that skips string literals and comments and collects every word
// and quoted name. It over-approximates (a column named like a table counts
// as a mention), which errs towards leaving an object out and saying so,
// never towards restoring one whose body names a table that is not there.

/** Lower-cased identifiers of `sql` (SQLite compares names case-insensitively in ASCII). */
export function mentionedNames(sql: string): Set<string> {
  const names = new Set<string>();
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'") {
      i = skipQuoted(sql, i, "'").end;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === '"' || c === "`") {
      const quoted = skipQuoted(sql, i, c);
      names.add(asciiLower(quoted.text));
      i = quoted.end;
    } else if (c === "[") {
      const end = sql.indexOf("]", i + 1);
      const stop = end < 0 ? sql.length : end;
      names.add(asciiLower(sql.slice(i + 1, stop)));
      i = stop + 1;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let end = i + 1;
      while (end < sql.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[end]!)) end++;
      names.add(asciiLower(sql.slice(i, end)));
      i = end;
    } else {
      i++;
    }
  }
  return names;
}

/** A quoted token starting at `start`; a doubled quote stands for one. */
function skipQuoted(sql: string, start: number, quote: string): { text: string; end: number } {
  let text = "";
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) {
        text += quote;
        i += 2;
        continue;
      }
      return { text, end: i + 1 };
    }
    text += sql[i];
    i++;
  }
  return { text, end: sql.length };
}

/** SQLite folds only ASCII letters when it compares identifiers. */
export function asciiLower(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}
