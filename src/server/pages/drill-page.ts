// One drill's record, the same Markdown `lifeboat drill` writes, as HTML.
// Raw HTML in it (a check name, an error message) is escaped, and links may
// only point at http(s) or inside the dashboard.

import { Marked, type Tokens } from "marked";
import type { DrillReport } from "../../domain/drill-report.ts";
import { renderDrillRecord } from "../../report/drill-record.ts";
import { escapeHtml, page, raw } from "./html.ts";

const safeHref = (href: string) => /^(https?:\/\/|\/(?!\/)|#)/i.test(href);

const markdown = new Marked({
  gfm: true,
  renderer: {
    html: (token: Tokens.HTML | Tokens.Tag) => escapeHtml(token.text),
    link(token: Tokens.Link) {
      const text = this.parser.parseInline(token.tokens);
      return safeHref(token.href) ? `<a href="${escapeHtml(token.href)}">${text}</a>` : text;
    },
    image: (token: Tokens.Image) => escapeHtml(token.text),
  },
});

export function renderDrillPage(report: DrillReport, generatedAt: string): string {
  const body = markdown.parse(renderDrillRecord(report), { async: false });
  return page(
    `drill ${report.id}`,
    generatedAt,
    raw(
      `<p><a href="/sources/${encodeURIComponent(report.source)}">← ${escapeHtml(report.source)}</a></p><article class="scroll">${body}</article>`,
    ),
  );
}

export function renderErrorPage(status: number, message: string, generatedAt: string): string {
  return page(
    `${status}`,
    generatedAt,
    raw(`<h1>${status}</h1><p>${escapeHtml(message)}</p><p><a href="/">Back to the overview</a></p>`),
  );
}
