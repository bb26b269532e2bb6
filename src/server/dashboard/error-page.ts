// The page for a request the dashboard cannot answer (an unknown source or
// drill, a path that is not a page): the status, the reason in words and a
// way back. The message may quote the request, so it is escaped like data.

import { STATUS_CODES } from "node:http";
import { html } from "./html.ts";
import { links, page, type PageOptions } from "./layout.ts";

export function renderErrorPage(status: number, message: string, options: PageOptions = {}): string {
  const to = links(options.basePath);
  const reason = STATUS_CODES[status] ?? "Error";
  const body = html`<h1>${status} ${reason}</h1>
    <p id="message">${message}</p>
    <p><a href="${to.overview}">Back to the overview</a></p>`;
  return page(`${status} ${reason}`, body, options);
}
