// lifeboat alerts render [--format rules|prometheusrule] [--out FILE]: the
// Prometheus alert rules of the declared objectives (docs/metrics.md, "Alert
// rules"). --out is replaced whole or not at all (temp file and rename), so a
// Prometheus reloading its rule_files never reads half a file. It overwrites
// whatever is there: the file is generated, re-rendering is the way to edit it.

import { LifeboatError } from "../../errors.ts";
import { writeFileWhole } from "../../runtime/write-whole.ts";
import {
  alertRules,
  alertSourcesOf,
  renderPrometheusRule,
  renderRulesFile,
  ruleCount,
} from "../../report/alerts.ts";
import { loadSessionConfig, type CommandEnv } from "../session.ts";

const FORMATS = ["rules", "prometheusrule"] as const;
type Format = (typeof FORMATS)[number];

export interface AlertsRenderFlags {
  readonly format?: string;
  readonly out?: string;
  /** --label key=value (repeatable): metadata.labels of the PrometheusRule. */
  readonly label?: readonly string[];
}

export async function alertsRenderCommand(env: CommandEnv, flags: AlertsRenderFlags): Promise<void> {
  const format = formatOf(flags.format);
  const labels = labelsOf(flags.label ?? [], format);
  const { config } = await loadSessionConfig(env);
  const rules = alertRules(alertSourcesOf(config));
  const text = format === "rules" ? renderRulesFile(rules) : renderPrometheusRule(rules, { labels });
  const count = ruleCount(rules);
  if (flags.out) await replaceFile(flags.out, text);
  const summary = {
    format,
    out: flags.out ?? null,
    groups: rules.groups.length,
    rules: count,
    skipped: rules.skipped,
    // Without --out the document itself is the result; with --json it travels inside it.
    ...(flags.out ? {} : { document: text }),
  };
  env.output.result(summary, () =>
    flags.out
      ? [
          `wrote ${count} rule(s) in ${rules.groups.length} group(s) to ${flags.out}`,
          ...rules.skipped.map((line) => `not rendered: ${line}`),
        ].join("\n")
      : text,
  );
}

function formatOf(text: string | undefined): Format {
  const format = text ?? "rules";
  if ((FORMATS as readonly string[]).includes(format)) return format as Format;
  throw new LifeboatError(
    "BAD_ARGUMENT",
    `--format ${JSON.stringify(format)}: expected rules or prometheusrule`,
    {
      details: { format, known: FORMATS },
      hint: "Use --format rules for a Prometheus rule_files file, or --format prometheusrule for a Prometheus Operator PrometheusRule.",
    },
  );
}

function labelsOf(pairs: readonly string[], format: Format): Record<string, string> {
  if (pairs.length > 0 && format !== "prometheusrule") {
    throw new LifeboatError("BAD_ARGUMENT", "--label is only for --format prometheusrule", {
      hint: "A rules file has no metadata; drop --label or add --format prometheusrule.",
    });
  }
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const match = /^([A-Za-z0-9][A-Za-z0-9._/-]*)=(.*)$/.exec(pair);
    if (!match) {
      throw new LifeboatError("BAD_ARGUMENT", `--label ${JSON.stringify(pair)}: expected key=value`, {
        hint: "Give each label as --label key=value, e.g. --label release=prometheus.",
      });
    }
    labels[match[1]!] = match[2]!;
  }
  return labels;
}

async function replaceFile(path: string, text: string): Promise<void> {
  try {
    await writeFileWhole(path, text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new LifeboatError("BAD_ARGUMENT", `--out ${path}: cannot write it (${why})`, {
      details: { out: path },
      cause: error,
      hint: "Point --out at a file in an existing directory this user may write, or leave --out out to print the rules.",
    });
  }
}
