// The text of a DR-CHECK marker: `key=value` pairs separated by spaces; a
// value may be quoted ("..." or '...') to hold spaces, and a key may stand
// alone (`objectives`). Anything else is a malformed marker, reported with
// what was wrong rather than guessed at.

export type MarkerFields = ReadonlyMap<string, string | true>;

export type MarkerSyntax =
  { readonly ok: true; readonly fields: MarkerFields } | { readonly ok: false; readonly problem: string };

const keyPattern = /^[A-Za-z][A-Za-z0-9_-]*$/;

export function parseMarkerFields(text: string): MarkerSyntax {
  const fields = new Map<string, string | true>();
  let at = 0;
  const skipSpace = () => {
    while (at < text.length && /\s/.test(text[at]!)) at++;
  };
  skipSpace();
  if (at >= text.length) return { ok: false, problem: "the marker names no check" };
  while (at < text.length) {
    const keyStart = at;
    while (at < text.length && !/[\s=]/.test(text[at]!)) at++;
    const key = text.slice(keyStart, at);
    if (!keyPattern.test(key)) return { ok: false, problem: `"${key || text.slice(keyStart)}" is not a key` };
    if (fields.has(key)) return { ok: false, problem: `${key} is given twice` };
    if (text[at] !== "=") {
      fields.set(key, true);
    } else {
      at++;
      const quote = text[at];
      if (quote === '"' || quote === "'") {
        const end = text.indexOf(quote, at + 1);
        if (end < 0) return { ok: false, problem: `the value of ${key} has no closing ${quote}` };
        fields.set(key, text.slice(at + 1, end));
        at = end + 1;
        if (at < text.length && !/\s/.test(text[at]!))
          return { ok: false, problem: `text after the closing ${quote} of ${key}'s value` };
      } else {
        const valueStart = at;
        while (at < text.length && !/\s/.test(text[at]!)) at++;
        const value = text.slice(valueStart, at);
        if (value === "") return { ok: false, problem: `${key}= has no value` };
        if (/["']/.test(value)) return { ok: false, problem: `stray quote in the value of ${key}` };
        fields.set(key, value);
      }
    }
    skipSpace();
  }
  return { ok: true, fields };
}
