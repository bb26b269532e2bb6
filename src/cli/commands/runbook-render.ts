// lifeboat runbook render [--out FILE] [--deploy DIR] [--force] [--dry-run]:
// the DR runbook from lifeboat.yaml (src/runbook/render.ts). Without --out it
// is printed; with --out a new file gets the whole skeleton, an existing one
// only has its generated regions replaced (src/runbook/regions.ts), and the
// file is replaced whole or not at all.

import { readFile, readdir } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { groupOf } from "../../config/group-schema.ts";
import type { Config } from "../../engines/config.ts";
import { engineFor } from "../../engines/registry.ts";
import { LifeboatError } from "../../errors.ts";
import { commandOf } from "../../plan/schedule.ts";
import { alertRules, alertSourcesOf } from "../../report/alerts.ts";
import { redactCredentialPatterns } from "../../runtime/redact.ts";
import { writeFileWhole } from "../../runtime/write-whole.ts";
import { containerScript } from "../../runbook/container-script.ts";
import { mergeRegions, renderDocument, type MergeResult } from "../../runbook/regions.ts";
import type { RunbookCronJob, RunbookInput, RunbookSource } from "../../runbook/render-input.ts";
import { renderRunbook } from "../../runbook/render.ts";
import { loadSessionConfig, type CommandEnv } from "../session.ts";

export interface RunbookRenderFlags {
  readonly out?: string;
  readonly deploy?: string;
  readonly root?: string;
  readonly force?: boolean;
  readonly dryRun?: boolean;
}

export async function runbookRenderCommand(env: CommandEnv, flags: RunbookRenderFlags): Promise<void> {
  const { config } = await loadSessionConfig(env);
  const cronJobs = flags.deploy ? await deployedCronJobs(flags.deploy, flags.root ?? ".") : [];
  const rendered = renderRunbook(runbookInputOf(config, env.options.config, cronJobs));
  if (!flags.out) {
    const text = renderDocument(rendered.parts);
    env.output.result({ out: null, text }, () => text.replace(/\n$/, ""));
    return;
  }
  const existing = await readFile(flags.out, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw new LifeboatError("BAD_ARGUMENT", `--out ${flags.out}: ${error.message}`, { cause: error });
  });
  const merge: MergeResult =
    existing === undefined
      ? {
          text: renderDocument(rendered.parts),
          updated: [],
          unchanged: [],
          added: rendered.regions.map((region) => region.id),
          removed: [],
          overwritten: [],
        }
      : mergeRegions(existing, rendered.regions, { file: flags.out, force: flags.force === true });
  const changed = existing !== merge.text;
  if (changed && !flags.dryRun) await writeFileWhole(flags.out, merge.text);
  const summary = {
    out: flags.out,
    created: existing === undefined,
    changed,
    dryRun: flags.dryRun === true,
    regions: {
      added: merge.added,
      updated: merge.updated,
      unchanged: merge.unchanged,
      removed: merge.removed,
      overwritten: merge.overwritten,
    },
  };
  env.output.result(summary, () => {
    const verb = flags.dryRun ? "would write" : "wrote";
    if (!changed) return `${flags.out} is up to date (${merge.unchanged.length} generated regions)`;
    const parts = [
      merge.added.length ? `added ${merge.added.join(", ")}` : "",
      merge.updated.length ? `updated ${merge.updated.join(", ")}` : "",
      merge.removed.length ? `removed ${merge.removed.join(", ")}` : "",
      merge.overwritten.length ? `overwrote hand edits in ${merge.overwritten.join(", ")}` : "",
    ].filter(Boolean);
    return `${verb} ${flags.out}${existing === undefined ? " (new)" : ""}: ${parts.join("; ")}`;
  });
}

export function runbookInputOf(
  config: Config,
  configArgument: string | undefined,
  cronJobs: readonly RunbookCronJob[],
): RunbookInput {
  const rules = alertRules(alertSourcesOf(config));
  return {
    repository: redactCredentialPatterns(config.repository.url),
    sources: Object.entries(config.sources).map(([name, source]) => sourceOf(name, source)),
    groups: Object.entries(config.groups).map(([name, group]) => ({
      name,
      sources: groupOf(group).sources,
    })),
    schedules: Object.entries(config.schedules).map(([name, spec]) => ({
      name,
      when: spec.cron ?? `every ${spec.every}`,
      timezone: spec.timezone,
      args: commandOf(spec),
    })),
    alerts: rules.groups.flatMap((group) =>
      group.rules.map((rule) => ({ alert: rule.alert, summary: rule.annotations.summary, for: rule.for })),
    ),
    alertsSkipped: rules.skipped,
    cronJobs,
    configArgument,
  };
}

type SourceConfig = Config["sources"][string];

function sourceOf(name: string, source: SourceConfig): RunbookSource {
  const engine = engineFor(source.engine);
  const fields = source as unknown as Record<string, unknown>;
  const url = typeof fields.url === "string" ? redactCredentialPatterns(fields.url) : undefined;
  const path = typeof fields.path === "string" ? fields.path : undefined;
  const location = url ?? path ?? `${source.engine} source`;
  return {
    name,
    engine: source.engine,
    location,
    objectives: source.objectives ?? {},
    pitr: engine.pitr?.takesBaseBackups(source as never) ?? false,
    partialRestore: engine.capabilities.partialRestore,
    restoreFlags: engine.restoreFlags.map((flag) => ({ name: flag.name, description: flag.description })),
    restoreGuarantee: engine.restoreGuarantee,
    checks: (source.drill?.checks ?? []).map(describeCheck),
    targetExample: url
      ? `a ${new URL(fields.url as string).protocol}// URL of another server or database, never the source's`
      : "a path that is not the source's own",
  };
}

type DrillCheck = NonNullable<SourceConfig["drill"]>["checks"][number];

/** A drill check as a checklist item an operator can tick by hand. */
function describeCheck(check: DrillCheck): string {
  if ("sql" in check) return `\`${check.sql}\` returns true`;
  if ("http" in check) {
    const field = check.http.json_field ? `, field ${check.http.json_field}` : "";
    return `${check.http.url} answers ${check.http.status}${field}`;
  }
  if ("redis" in check)
    return `redis \`${check.redis}\`${check.equals !== undefined ? ` replies ${check.equals}` : " replies"}`;
  if ("expect_rows" in check) {
    const rows = check.expect_rows;
    const count = rows.equals !== undefined ? `exactly ${rows.equals}` : `at least ${rows.min ?? 1}`;
    return `table ${rows.table} has ${count} rows`;
  }
  return `\`${check.command}\` succeeds`;
}

/** The CronJobs of a `lifeboat deploy kubernetes` output folder, as runbook check compares them. */
async function deployedCronJobs(dir: string, root: string): Promise<RunbookCronJob[]> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    throw new LifeboatError("BAD_ARGUMENT", `--deploy ${dir}: ${error.message}`, {
      hint: "Give the folder `lifeboat deploy kubernetes --out` wrote.",
      cause: error,
    });
  });
  const jobs: RunbookCronJob[] = [];
  for (const name of names.filter((file) => /\.ya?ml$/.test(file)).sort()) {
    const path = join(dir, name);
    for (const document of parseAllDocuments(await readFile(path, "utf8"))) {
      if (!("toJS" in document)) continue;
      const resource = document.toJS() as CronJobShape | null;
      if (resource?.kind !== "CronJob" || !resource.metadata?.name) continue;
      const container = resource.spec?.jobTemplate?.spec?.template?.spec?.containers?.[0];
      if (!container) continue;
      jobs.push({
        name: resource.metadata.name,
        manifest: relative(resolve(root), resolve(path)),
        // Exactly what `runbook check` compares the block with.
        script: containerScript(container),
        entrypoint: container.command === undefined,
      });
    }
  }
  return jobs;
}

interface CronJobShape {
  kind?: string;
  metadata?: { name?: string };
  spec?: {
    jobTemplate?: {
      spec?: { template?: { spec?: { containers?: { command?: string[]; args?: string[] }[] } } };
    };
  };
}
