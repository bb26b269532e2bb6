// Finding, parsing and validating lifeboat.yaml. Every invalid field is
// reported at once, each with its path and what was expected, so a user fixes
// the file in one pass instead of one error per run.

import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { LifeboatError } from "../errors.ts";
import { configSchema, type Config, type SourceConfig } from "./schema.ts";

export interface LoadedConfig {
  readonly path: string;
  readonly config: Config;
}

/** -c/--config wins, then LIFEBOAT_CONFIG, then ./lifeboat.yaml. */
export function configPath(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(explicit ?? env.LIFEBOAT_CONFIG ?? "lifeboat.yaml");
}

export async function loadConfig(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new LifeboatError("CONFIG_NOT_FOUND", `cannot read config file ${path}`, { cause: error });
  }
  return { path, config: parseConfig(text, path) };
}

export function parseConfig(text: string, path = "lifeboat.yaml"): Config {
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    const problems = document.errors.map((error) => error.message.split("\n")[0] ?? error.message);
    throw new LifeboatError("BAD_CONFIG", `${path} is not valid YAML:\n  ${problems.join("\n  ")}`, {
      details: { problems },
    });
  }
  const result = configSchema.safeParse(document.toJS() ?? {});
  if (!result.success) {
    const problems = describeIssues(result.error.issues);
    throw new LifeboatError(
      "BAD_CONFIG",
      `${path} has ${problems.length} invalid field${problems.length === 1 ? "" : "s"}:\n  ` +
        problems.map((problem) => `${problem.path}: ${problem.message}`).join("\n  "),
      { details: { problems } },
    );
  }
  return resolvePaths(result.data, dirname(resolve(path)));
}

export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): ConfigProblem[] {
  return issues.map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join(".") : "(top level)",
    message: issueMessage(issue),
  }));
}

function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
    case "invalid_union":
      return issue.message.includes("discriminator")
        ? "engine must be one of postgres, sqlite, files"
        : issue.message;
    case "invalid_type":
      return issue.input === undefined ? `required: expected ${issue.expected}` : issue.message;
    default:
      return issue.message;
  }
}

/** Relative paths in the file are relative to the file, not to wherever the command ran. */
function resolvePaths(config: Config, baseDir: string): Config {
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  const sources: Config["sources"] = {};
  for (const [name, source] of Object.entries(config.sources)) {
    const drillPath = source.drill?.target?.path;
    const drill =
      source.drill && drillPath
        ? { ...source.drill, target: { ...source.drill.target, path: absolute(drillPath) } }
        : source.drill;
    const resolved: SourceConfig =
      source.engine === "postgres" ? { ...source } : { ...source, path: absolute(source.path) };
    if (drill) resolved.drill = drill;
    sources[name] = resolved;
  }
  const repository = {
    ...config.repository,
    url: fileUrlRelativeTo(config.repository.url, baseDir),
    ...(config.repository.password_file ? { password_file: absolute(config.repository.password_file) } : {}),
  };
  return { ...config, repository, sources, reports: { dir: absolute(config.reports.dir) } };
}

/** file://./repo and file://repo are relative to the config file; file:///abs stays. */
function fileUrlRelativeTo(url: string, baseDir: string): string {
  if (!url.startsWith("file://") || url.startsWith("file:///")) return url;
  return "file://" + resolve(baseDir, url.slice("file://".length));
}
