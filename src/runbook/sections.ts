// One section of a Markdown runbook as `lifeboat drill --runbook` runs it: the
// heading asked for, the code blocks under it (down to the next heading of the
// same or a higher level) that are opted in with `run` after the language
// (```bash run), and the sources its DR-CHECK markers name. Running a block
// is always an explicit choice of whoever wrote the runbook: a block without
// `run` is shown to the reader and never executed.

import type { Heading, Nodes, Root } from "mdast";
import { fromMarkdown } from "mdast-util-from-markdown";
import { LifeboatError } from "../errors.ts";

export interface RunnableBlock {
  /** 1-based line of the opening fence in the file. */
  readonly line: number;
  readonly lang: string;
  readonly script: string;
}

export interface RunbookSection {
  readonly title: string;
  readonly line: number;
  readonly blocks: readonly RunnableBlock[];
  /** Blocks under the heading without `run`, counted so a report can say they were skipped. */
  readonly skipped: number;
  /** `source=NAME` values of the section's DR-CHECK markers, in order, unique. */
  readonly sources: readonly string[];
}

/** Shells a block may be written for; anything else (python, sql, yaml) is refused, not guessed at. */
const shells = new Set(["bash", "sh", "shell", "console"]);

function textOf(node: Nodes): string {
  if ("value" in node && typeof node.value === "string") return node.value;
  if ("children" in node) return (node.children as Nodes[]).map(textOf).join("");
  return "";
}

/** Case and spacing do not matter; the section named exactly wins, else the one heading starting with it. */
function findHeading(root: Root, title: string, file: string): { heading: Heading; index: number } {
  const wanted = normalise(title);
  const headings = root.children.flatMap((node, index) =>
    node.type === "heading" ? [{ heading: node, index, text: normalise(textOf(node)) }] : [],
  );
  const exact = headings.filter((entry) => entry.text === wanted);
  const prefixed = headings.filter(
    (entry) => entry.text.startsWith(wanted) && /^[\s(:—-]/.test(entry.text.slice(wanted.length)),
  );
  const found = exact.length > 0 ? exact : prefixed;
  if (found.length === 1) return found[0]!;
  const all = headings.map((entry) => textOf(entry.heading)).join("; ");
  throw new LifeboatError(
    "BAD_ARGUMENT",
    found.length === 0
      ? `${file} has no section "${title}"; its headings: ${all || "(none)"}`
      : `${file} has ${found.length} sections matching "${title}": ${found.map((e) => `line ${e.heading.position?.start.line}`).join(", ")}`,
    { details: { file, section: title }, hint: "Give the heading's text as it is written (--section)." },
  );
}

function normalise(text: string): string {
  return text.trim().replace(/\s+/g, " ").toLowerCase();
}

export function readSection(markdown: string, title: string, file: string): RunbookSection {
  const root = fromMarkdown(markdown);
  const { heading, index } = findHeading(root, title, file);
  const blocks: RunnableBlock[] = [];
  const sources: string[] = [];
  let skipped = 0;
  for (const node of root.children.slice(index + 1)) {
    if (node.type === "heading" && node.depth <= heading.depth) break;
    collect(node);
  }
  function collect(node: Nodes): void {
    if (node.type === "code") {
      const runnable = (node.meta ?? "").split(/\s+/).includes("run");
      if (!runnable) {
        skipped++;
        return;
      }
      const line = node.position?.start.line ?? 0;
      const lang = node.lang ?? "";
      if (!shells.has(lang)) {
        throw new LifeboatError(
          "BAD_ARGUMENT",
          `${file}:${line}: a runnable block must be a shell block (\`\`\`bash run), not ${lang || "one without a language"}`,
          { details: { file, line } },
        );
      }
      blocks.push({ line, lang, script: node.value });
      return;
    }
    if (node.type === "html") {
      for (const match of node.value.matchAll(/<!--\s*DR-CHECK:[^>]*?\bsource=("?)([^\s">]+)\1/g)) {
        if (!sources.includes(match[2]!)) sources.push(match[2]!);
      }
      return;
    }
    if ("children" in node) for (const child of node.children as Nodes[]) collect(child);
  }
  return { title: textOf(heading), line: heading.position?.start.line ?? 0, blocks, skipped, sources };
}
