// Pipe tables as `runbook check` reads them: GFM tables parsed by remark's own
// extension (micromark-extension-gfm-table, mdast-util-gfm-table), turned into
// a header and body rows with their line numbers, each cell as plain text
// (inline code and emphasis marks dropped, escaped pipes kept as `|`).

import type { Nodes, Table as TableNode } from "mdast";
import { gfmTableFromMarkdown } from "mdast-util-gfm-table";
import { gfmTable } from "micromark-extension-gfm-table";

export interface TableRow {
  readonly line: number;
  readonly cells: readonly string[];
}

export interface Table {
  readonly kind: "table";
  readonly line: number;
  readonly header: readonly string[];
  readonly rows: readonly TableRow[];
}

/** What fromMarkdown needs to parse GFM tables. */
export const tableParsing = { extensions: [gfmTable()], mdastExtensions: [gfmTableFromMarkdown()] };

function plainText(node: Nodes): string {
  if ("value" in node && typeof node.value === "string") return node.value;
  if ("children" in node) return (node.children as Nodes[]).map(plainText).join("");
  return "";
}

export function tableOf(node: TableNode): Table {
  const [head, ...body] = node.children.map((row) => ({
    line: row.position?.start.line ?? 0,
    cells: row.children.map((cell) => plainText(cell).trim()),
  }));
  return {
    kind: "table",
    line: node.position?.start.line ?? 0,
    header: head?.cells ?? [],
    rows: body.filter((row) => row.cells.some((cell) => cell !== "")),
  };
}
