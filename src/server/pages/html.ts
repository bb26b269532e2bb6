// The dashboard's HTML basics: escaping (every value from the repository is
// data, never markup: a source named `<script>` shows as text) and the page
// frame. No external URL anywhere: the page works without internet access,
// and the server's Content-Security-Policy forbids loading anything else.

import type { Verdict } from "../../domain/status.ts";

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** A tagged template that escapes every interpolated value unless it is already Html. */
export class Html {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let text = strings[0]!;
  values.forEach((value, index) => {
    text += render(value) + strings[index + 1]!;
  });
  return new Html(text);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(String(value));
}

export const raw = (text: string) => new Html(text);

const verdictColours: Record<Verdict, string> = {
  ok: "#1a7f37",
  stale: "#9a6700",
  never_drilled: "#6e7781",
  failing: "#cf222e",
};

/** The verdict as a coloured badge with its word, so it reads without colour too. */
export function verdictBadge(verdict: Verdict): Html {
  return html`<span class="badge" data-verdict="${verdict}" style="background:${verdictColours[verdict]}"
    >${verdict.replace("_", " ").toUpperCase()}</span
  >`;
}

const style = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:baseline;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:1200px;margin:0 auto;padding:1rem}
table{border-collapse:collapse;width:100%;background:#fff;margin:.5rem 0 1.5rem}
th,td{border:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#eaeef2}
.badge{color:#fff;border-radius:4px;padding:.1rem .45rem;font-size:.8rem;font-weight:700;white-space:nowrap}
.failed td{background:#ffebe9}
.reasons{margin:.2rem 0 0 1rem;padding:0;color:#57606a;font-size:.9rem}
.muted{color:#57606a}
.scroll{overflow-x:auto}
svg{background:#fff;border:1px solid #d0d7de;max-width:100%;height:auto}
@media (max-width:600px){th,td{padding:.25rem;font-size:.85rem}}
`;

export function page(title: string, generatedAt: string, body: Html): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Lifeboat</title>
<style>${style}</style>
</head>
<body>
<header><a href="/">Lifeboat</a><span>${escapeHtml(title)}</span><span class="muted">generated ${escapeHtml(generatedAt)}</span></header>
<main>
${body.text}
</main>
</body>
</html>
`;
}
