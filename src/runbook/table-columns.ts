// Finding a table's columns by their header, case-insensitively: "RTO",
// "rto (target)" and "**RTO**" all name the RTO column.

import type { Table } from "./table.ts";

export function columnOf(table: Table, names: readonly string[]): number {
  return table.header.findIndex((header) => {
    const words = header.toLowerCase().split(/[^a-z0-9]+/);
    return names.some((name) => words.includes(name));
  });
}
