// The frame every dashboard page shares: charset, title, viewport, the inline
// stylesheet, a header with links and the "generated at" time. Nothing is
// loaded from anywhere: no external URL, no script, so the page works without
// internet access and under `lifeboat serve`'s Content-Security-Policy
// (style-src 'unsafe-inline' only).

import { LifeboatError } from "../../errors.ts";
import { escapeHtml, html, type Html } from "./html.ts";
import { utc } from "./format.ts";

export interface PageOptions {
  /** Where the dashboard is mounted behind a proxy, e.g. "/lifeboat"; "" (the root) by default. */
  readonly basePath?: string;
  /** The time the page shows as "generated at"; the status report's time where a page has one, else now. */
  readonly generatedAt?: string;
}

export interface Links {
  readonly overview: string;
  source(name: string): string;
  drill(id: string): string;
  readonly metrics: string;
  readonly health: string;
}

/** Links under basePath; names are percent-encoded, so a name cannot leave its path segment. */
export function links(basePath = ""): Links {
  if (!/^(\/[A-Za-z0-9._~-]+)*\/?$/.test(basePath)) {
    throw new LifeboatError("BAD_ARGUMENT", `dashboard: base path "${basePath}" is not a plain URL path`, {
      hint: 'Use a path such as "/lifeboat": segments of letters, digits, ".", "_", "~" and "-".',
    });
  }
  const base = basePath.replace(/\/$/, "");
  return {
    overview: `${base}/`,
    source: (name) => `${base}/sources/${encodeURIComponent(name)}`,
    drill: (id) => `${base}/drills/${encodeURIComponent(id)}`,
    metrics: `${base}/metrics`,
    health: `${base}/healthz/backup`,
  };
}

const style = `
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:baseline}
header a{color:#fff}
header .brand{font-weight:700;font-size:1.1rem;text-decoration:none}
header nav{display:flex;gap:1rem;flex-wrap:wrap}
header .generated{color:#d0d7de;font-size:.85rem;margin-left:auto}
main{max-width:1240px;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.3rem 0 1rem;overflow-wrap:anywhere}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
a{color:#0969da}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
pre{background:#fff;border:1px solid #d0d7de;padding:.75rem;overflow-x:auto;white-space:pre-wrap}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,360px),1fr));gap:1rem}
.card{background:#fff;border:1px solid #d0d7de;border-left:6px solid #8c959f;border-radius:6px;padding:.75rem 1rem;min-width:0}
.card h2{margin:0 0 .4rem;font-size:1.1rem;display:flex;gap:.5rem;align-items:center;flex-wrap:wrap;overflow-wrap:anywhere}
.card.verdict-ok{border-left-color:#1a7f37}.card.verdict-stale{border-left-color:#9a6700}
.card.verdict-failing{border-left-color:#cf222e}.card.verdict-never_drilled{border-left-color:#6e7781}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem .75rem;margin:.5rem 0 0}
dt{color:#57606a}dd{margin:0;min-width:0;overflow-wrap:anywhere}
.badge{display:inline-block;color:#fff;border-radius:4px;padding:.05rem .45rem;font-size:.8rem;font-weight:700;letter-spacing:.02em;white-space:nowrap}
.badge.verdict-ok{background:#1a7f37}.badge.verdict-stale{background:#9a6700}
.badge.verdict-failing{background:#cf222e}.badge.verdict-never_drilled{background:#6e7781}
.good{color:#1a7f37}.warn{color:#9a6700;font-weight:600}.bad{color:#cf222e;font-weight:600}.muted{color:#57606a}
.status{white-space:nowrap}
.reasons{margin:.2rem 0 .4rem;padding-left:1.2rem;color:#57606a;font-size:.9rem}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#eaeef2}
tr.failed td{background:#ffebe9}
.panel{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.75rem 1rem}
figure{margin:0 0 1rem}
figure svg{width:100%;max-width:760px;height:auto;background:#fff;border:1px solid #d0d7de;display:block}
figcaption{color:#57606a;font-size:.9rem;margin-top:.25rem}
.legend{display:flex;gap:1rem;flex-wrap:wrap;font-size:.85rem;color:#57606a;margin:.25rem 0 0}
article.record{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.25rem 1rem 1rem;overflow-wrap:anywhere}
@media (max-width:600px){main{padding:.5rem}th,td{padding:.25rem;font-size:.85rem}header .generated{margin-left:0}}
`;

/** A complete HTML document. `title` is data and is escaped; `body` is Html already. */
export function page(title: string, body: Html, options: PageOptions = {}): string {
  const to = links(options.basePath);
  const generatedAt = options.generatedAt ?? new Date().toISOString();
  const header = html`<header>
  <a class="brand" href="${to.overview}">Lifeboat</a>
  <nav aria-label="dashboard">
    <a href="${to.overview}">Overview</a>
    <a href="${to.health}">Health (JSON)</a>
    <a href="${to.metrics}">Metrics</a>
  </nav>
  <span class="generated">generated at ${utc(generatedAt)}</span>
</header>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Lifeboat</title>
<style>${style}</style>
</head>
<body>
${header.text}
<main>
${body.text}
</main>
</body>
</html>
`;
}
