// One place decides how results reach the user: a JSON document on stdout
// with --json (scripts parse it; see docs/cli-json.md), human text otherwise.
// Logs and progress go to stderr so stdout stays parseable. Everything printed
// here passes the redaction step (runtime/redact.ts) first.

import { redact, redactedJson } from "../runtime/redact.ts";

export interface Output {
  readonly json: boolean;
  /** Print the command's result: `data` as JSON, or the text `human()` renders. */
  result(data: unknown, human: () => string): void;
}

export function createOutput(
  json: boolean,
  write: (text: string) => void = (text) => process.stdout.write(text),
): Output {
  return {
    json,
    result(data, human) {
      if (json) write(redactedJson(data) + "\n");
      else {
        const text = redact(human());
        if (text) write(text.endsWith("\n") ? text : text + "\n");
      }
    },
  };
}

/** Bytes as people read them: 1.5 GiB, 320 KiB. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** A plain text table with left-aligned columns. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}
