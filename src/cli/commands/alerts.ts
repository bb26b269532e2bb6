// lifeboat alerts render [--format rules|prometheusrule] [--out FILE]: the
// Prometheus alert rules of the declared objectives (docs/metrics.md, "Alert
// rules"). --out is written whole or not at all (temp file and rename).

import { rename, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { parseDuration } from "../../domain/duration.ts";
import { LifeboatError } from "../../errors.ts";
import { alertRules, renderPrometheusRule, renderRulesFile, type AlertSource } from "../../report/alerts.ts";
import { engineFor } from "../../engines/registry.ts";
import { loadSessionConfig, type CommandEnv } from "../session.ts";

const FORMATS = ["rules", "prometheusrule"] as const;

export async function alertsRenderCommand(
  env: CommandEnv,
  flags: { format?: string; out?: string },
): Promise<void> {
  const format = flags.format ?? "rules";
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `--format ${JSON.stringify(format)}: expected rules or prometheusrule`,
      {
        hint: "rules: a Prometheus rule_files file; prometheusrule: a Prometheus Operator PrometheusRule.",
      },
    );
  }
  const { config } = await loadSessionConfig(env);
  const orNull = (text: string | undefined) => (text ? parseDuration(text) : null);
  const sources: AlertSource[] = Object.entries(config.sources).map(([name, source]) => ({
    name,
    rpoSeconds: orNull(source.objectives?.rpo),
    rtoSeconds: orNull(source.objectives?.rto),
    drillIntervalSeconds: orNull(source.objectives?.drill_interval),
    archivesWal: engineFor(source.engine).pitr?.takesBaseBackups(source as never) ?? false,
  }));
  const rules = alertRules(sources);
  const text = format === "rules" ? renderRulesFile(rules) : renderPrometheusRule(rules);
  const count = rules.groups.reduce((sum, group) => sum + group.rules.length, 0);
  if (flags.out) {
    const temporary = join(dirname(flags.out), `.${basename(flags.out)}.${process.pid}.tmp`);
    await writeFile(temporary, text);
    await rename(temporary, flags.out);
  }
  const summary = {
    format,
    out: flags.out ?? null,
    groups: rules.groups.length,
    rules: count,
    skipped: rules.skipped,
  };
  if (flags.out || env.options.json) {
    env.output.result(summary, () =>
      [
        `wrote ${count} rule(s) in ${rules.groups.length} group(s) to ${flags.out}`,
        ...rules.skipped.map((line) => `not rendered: ${line}`),
      ].join("\n"),
    );
  } else process.stdout.write(text);
}
