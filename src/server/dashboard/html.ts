// Escaping for the dashboard. Every value that comes from the repository or
// lifeboat.yaml (source names, error messages, check names) is data, never
// markup: the `html` tagged template escapes each interpolated value unless
// it is already Html built by this module, so forgetting to escape takes
// effort instead of being the default.

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** Markup that is already safe: made by `html`, or by a renderer that escapes (the Markdown one). */
export class Html {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

type Value = Html | string | number | null | undefined | false | readonly Value[];

function render(value: Value): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(String(value));
}

/** html`<td>${name}</td>`: strings and numbers are escaped, Html is kept, arrays are joined, null/false vanish. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let text = strings[0] ?? "";
  values.forEach((value, index) => {
    text += render(value) + (strings[index + 1] ?? "");
  });
  return new Html(text);
}

/** Trusts `text` as markup: only for output of a renderer that escapes its input itself. */
export function trusted(text: string): Html {
  return new Html(text);
}
