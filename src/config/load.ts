// Finding, parsing and validating lifeboat.yaml. Every invalid field is
// reported at once, each with its path and what was expected, so a user fixes
// the file in one pass instead of one error per run. This module knows no
// engine: the caller (engines/config.ts) passes the assembled schema and
// which source fields are paths.
//
// Parsing is bounded: the file's size, YAML aliases and the number of
// sources are capped, so a hostile or broken file fails in milliseconds with
// BAD_CONFIG instead of pinning a core (synchronous work cannot be stopped
// by SIGTERM, so the bound is what keeps a command stoppable).

import { open } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { isMap, isScalar, isSeq, parseDocument, type Node } from "yaml";
import type { z } from "zod";
import { LifeboatError } from "../errors.ts";
import type { RepositoryConfig } from "./schema.ts";
import type { CommonSourceConfig } from "./source-fields.ts";

/** Far above any real file (10,000 sources fit in about 800 KiB), far below what parses slowly. */
export const maxConfigBytes = 2 * 1024 * 1024;
export const maxSources = 10_000;
/** yaml's own default; an alias bomb expands each alias many times over. */
const maxAliasCount = 100;

/** The fields of a parsed config that loading itself touches. */
export interface ConfigShape {
  readonly repository: RepositoryConfig;
  readonly sources: Readonly<Record<string, CommonSourceConfig>>;
  readonly reports: { readonly dir: string };
}

export interface ConfigRules<C extends ConfigShape> {
  readonly schema: z.ZodType<C>;
  readonly engineNames: readonly string[];
  /** Names of the fields of this source that hold file-system paths (resolved against the file's folder). */
  pathFieldsOf(source: CommonSourceConfig): readonly string[];
}

export interface LoadedConfig<C> {
  readonly path: string;
  readonly config: C;
}

export { configPath } from "./config-path.ts";

export async function loadConfigFile<C extends ConfigShape>(
  path: string,
  rules: ConfigRules<C>,
): Promise<LoadedConfig<C>> {
  return { path, config: parseConfigText(await readBounded(path), path, rules) };
}

async function readBounded(path: string): Promise<string> {
  let text: string;
  try {
    const file = await open(path, "r");
    try {
      const { size } = await file.stat();
      if (size > maxConfigBytes) {
        throw new LifeboatError(
          "BAD_CONFIG",
          `${path} is ${size} bytes; a config file may be ${maxConfigBytes}`,
          {
            details: { size, limit: maxConfigBytes },
            hint: "Check that -c/--config names the right file: a lifeboat.yaml is a few kilobytes.",
          },
        );
      }
      text = await file.readFile("utf8");
    } finally {
      await file.close();
    }
  } catch (error) {
    if (error instanceof LifeboatError) throw error;
    throw new LifeboatError(
      "CONFIG_NOT_FOUND",
      `cannot read config file ${path}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return text;
}

export function parseConfigText<C extends ConfigShape>(text: string, path: string, rules: ConfigRules<C>): C {
  if (Buffer.byteLength(text) > maxConfigBytes) {
    throw new LifeboatError("BAD_CONFIG", `${path} is larger than ${maxConfigBytes} bytes`, {
      details: { limit: maxConfigBytes },
    });
  }
  const raw = parseYaml(text, path);
  const sourceCount = Object.keys((raw as { sources?: object } | null)?.sources ?? {}).length;
  if (sourceCount > maxSources) {
    throw new LifeboatError(
      "BAD_CONFIG",
      `${path} declares ${sourceCount} sources; at most ${maxSources} are supported`,
      {
        details: { sources: sourceCount, limit: maxSources },
        hint: "Split the sources over several config files (one per host or team).",
      },
    );
  }
  const result = rules.schema.safeParse(raw);
  if (!result.success) {
    const problems = describeIssues(result.error.issues, rules.engineNames);
    throw new LifeboatError(
      "BAD_CONFIG",
      `${path} has ${problems.length} invalid field${problems.length === 1 ? "" : "s"}:\n  ` +
        problems.map((problem) => `${problem.path}: ${problem.message}`).join("\n  "),
      { details: { problems } },
    );
  }
  return resolvePaths(result.data, dirname(resolve(path)), rules);
}

function parseYaml(text: string, path: string): unknown {
  const syntaxError = (problems: string[]) =>
    new LifeboatError("BAD_CONFIG", `${path} is not valid YAML:\n  ${problems.join("\n  ")}`, {
      details: { problems },
      hint: "Fix the YAML where shown (indentation, quotes, brackets, a key given twice); docs/config.schema.json describes every field.",
    });
  // yaml's own duplicate-key check compares every key with every other (quadratic in the
  // number of sources); duplicateKeys() below does the same job in one pass.
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: false });
  if (document.errors.length > 0) {
    throw syntaxError(document.errors.map((error) => error.message.split("\n")[0] ?? error.message));
  }
  const duplicates = duplicateKeys(document.contents, []);
  if (duplicates.length > 0) throw syntaxError(duplicates.map((path) => `duplicate key ${path}`));
  try {
    return document.toJS({ maxAliasCount }) ?? {};
  } catch (error) {
    // yaml refuses documents whose aliases expand without bound ("resource exhaustion").
    throw syntaxError([(error as Error).message]);
  }
}

/** Paths of keys that appear twice in the same mapping (a later one would silently win). */
function duplicateKeys(node: Node | null, path: readonly string[]): string[] {
  const found: string[] = [];
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      if (seen.has(key)) found.push([...path, key].join("."));
      seen.add(key);
      found.push(...duplicateKeys(pair.value as Node | null, [...path, key]));
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) =>
      found.push(...duplicateKeys(item as Node | null, [...path, String(index)])),
    );
  }
  return found;
}

export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  engineNames: readonly string[],
): ConfigProblem[] {
  return issues.map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join(".") : "(top level)",
    message: issueMessage(issue, engineNames),
  }));
}

function issueMessage(issue: z.core.$ZodIssue, engineNames: readonly string[]): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
    case "invalid_union":
      return issue.message.includes("discriminator")
        ? `engine must be one of ${engineNames.join(", ")}`
        : issue.message;
    case "invalid_type":
      return issue.input === undefined ? `required: expected ${issue.expected}` : issue.message;
    default:
      return issue.message;
  }
}

/** Relative paths in the file are relative to the file, not to wherever the command ran. */
function resolvePaths<C extends ConfigShape>(config: C, baseDir: string, rules: ConfigRules<C>): C {
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  const sources: Record<string, CommonSourceConfig> = {};
  for (const [name, source] of Object.entries(config.sources)) {
    const resolved: Record<string, unknown> = { ...source };
    for (const field of rules.pathFieldsOf(source)) {
      const value = resolved[field];
      if (typeof value === "string") resolved[field] = absolute(value);
    }
    const drillPath = source.drill?.target?.path;
    if (source.drill && drillPath) {
      resolved.drill = { ...source.drill, target: { ...source.drill.target, path: absolute(drillPath) } };
    }
    sources[name] = resolved as unknown as CommonSourceConfig;
  }
  const repository = {
    ...config.repository,
    url: fileUrlRelativeTo(config.repository.url, baseDir),
    ...(config.repository.password_file ? { password_file: absolute(config.repository.password_file) } : {}),
  };
  return {
    ...config,
    repository,
    sources,
    reports: { ...config.reports, dir: absolute(config.reports.dir) },
  };
}

/** file://./repo and file://repo are relative to the config file; file:///abs stays. */
function fileUrlRelativeTo(url: string, baseDir: string): string {
  if (!url.startsWith("file://") || url.startsWith("file:///")) return url;
  return "file://" + resolve(baseDir, url.slice("file://".length));
}
