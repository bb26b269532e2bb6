// Every DR-CHECK marker of a Markdown runbook, with the node it governs: the
// next code block (for script and command checks) or the next table (for
// objectives and schedules), found before the next marker or heading, so a
// marker whose block was deleted never silently checks a later one.

import { fromMarkdown } from "mdast-util-from-markdown";
import type { Nodes, Root } from "mdast";
import { parseMarkerFields, type MarkerSyntax } from "./marker-syntax.ts";
import { tableOf, tableParsing, type Table } from "./table.ts";

export interface CodeBlock {
  readonly kind: "code";
  /** The line of the opening fence (or of the first line of an indented block). */
  readonly line: number;
  /** The line of the block's first line of content. */
  readonly firstLine: number;
  readonly lang: string | null;
  readonly value: string;
}

export interface Marker {
  readonly line: number;
  /** The text after `DR-CHECK:`, trimmed (the whole comment when malformed). */
  readonly text: string;
  readonly syntax: MarkerSyntax;
  readonly code: CodeBlock | undefined;
  readonly table: Table | undefined;
}

type Event =
  | { readonly type: "marker"; readonly line: number; readonly text: string; readonly syntax: MarkerSyntax }
  | { readonly type: "heading" }
  | CodeBlock
  | Table;

const comment = /<!--([\s\S]*?)(-->|$)/g;

function markersIn(value: string, startLine: number): Event[] {
  const found: Event[] = [];
  for (const match of value.matchAll(comment)) {
    const inner = match[1]!.trim();
    if (!/^DR-CHECK\b/.test(inner)) continue;
    const line = startLine + (value.slice(0, match.index).match(/\n/g)?.length ?? 0);
    const rest = inner.slice("DR-CHECK".length);
    let syntax: MarkerSyntax;
    let text = inner;
    if (match[2] !== "-->") syntax = { ok: false, problem: "the comment has no closing -->" };
    else if (!/^\s*:/.test(rest)) syntax = { ok: false, problem: "DR-CHECK must be followed by a colon" };
    else {
      text = rest.replace(/^\s*:/, "").trim();
      syntax = parseMarkerFields(text);
    }
    found.push({ type: "marker", line, text, syntax });
  }
  return found;
}

function events(root: Root, lines: readonly string[]): Event[] {
  const out: Event[] = [];
  const visit = (node: Nodes) => {
    const start = node.position?.start.line ?? 0;
    switch (node.type) {
      case "html":
        out.push(...markersIn(node.value, start));
        return;
      case "heading":
        out.push({ type: "heading" });
        break;
      case "code": {
        const fenced = /^\s*(```|~~~)/.test(lines[start - 1] ?? "");
        out.push({
          kind: "code",
          line: start,
          firstLine: fenced ? start + 1 : start,
          lang: node.lang ?? null,
          value: node.value,
        });
        return;
      }
      case "table":
        out.push(tableOf(node));
        return;
    }
    if ("children" in node) for (const child of node.children) visit(child);
  };
  visit(root);
  return out;
}

export function findMarkers(markdown: string): Marker[] {
  const lines = markdown.split(/\r?\n/);
  const all = events(fromMarkdown(markdown, tableParsing), lines);
  const markers: Marker[] = [];
  all.forEach((event, index) => {
    if ("type" in event && event.type === "marker") {
      let code: CodeBlock | undefined;
      let table: Table | undefined;
      for (const next of all.slice(index + 1)) {
        if ("type" in next) break; // the next marker or heading ends what this one governs
        if (next.kind === "code") code ??= next;
        else table ??= next;
      }
      markers.push({ line: event.line, text: event.text, syntax: event.syntax, code, table });
    }
  });
  return markers;
}
