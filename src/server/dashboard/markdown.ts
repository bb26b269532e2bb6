// Markdown to HTML for drill records, with marked (GFM, so tables render).
// Drill records carry user-declared check names, commands and error
// messages, so the renderer treats the Markdown as untrusted:
// - raw HTML is never recognised as HTML: the tag and block-HTML tokenizers
//   are switched off, so `<script>` is lexed as text and escaped like any
//   other text (and the html renderer escapes too, should a token get
//   through another way);
// - images never load (the page makes no request anywhere): their alt text
//   is shown instead;
// - links become anchors only when they stay inside the dashboard (a path
//   starting with one "/" or a "#fragment"); any other target, http,
//   javascript: or data:, is shown as text beside its label.

import { Marked, type Tokens } from "marked";
import { escapeHtml, trusted, type Html } from "./html.ts";

const insideDashboard = (href: string) => /^(\/(?![/\\])|#)/.test(href);

const markdown = new Marked({
  gfm: true,
  async: false,
  tokenizer: {
    // Returning undefined means "no HTML here": the lexer goes on and reads it as text.
    html: () => undefined,
    tag: () => undefined,
  },
  renderer: {
    html: (token: Tokens.HTML | Tokens.Tag) => escapeHtml(token.text),
    image: (token: Tokens.Image) => `[image: ${escapeHtml(token.text)}]`,
    link(token: Tokens.Link) {
      const label = this.parser.parseInline(token.tokens);
      if (insideDashboard(token.href)) return `<a href="${escapeHtml(token.href)}">${label}</a>`;
      return token.text === token.href ? escapeHtml(token.href) : `${label} (${escapeHtml(token.href)})`;
    },
  },
});

export function markdownToHtml(text: string): Html {
  return trusted(markdown.parse(text, { async: false }));
}

/** Text for one GFM table cell: pipes, backslashes and line breaks would otherwise change the table. */
export function tableCell(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("|", "\\|").replace(/\r?\n/g, " ");
}
