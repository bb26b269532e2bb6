// lifeboat drill [SOURCE] --runbook FILE --section TITLE: run a runbook
// section's opted-in blocks against a scratch target (src/drill/runbook-drill.ts)
// and keep the evidence like any drill. The steps call `lifeboat`: this very
// Lifeboat is put first on their PATH, with the configuration and the
// repository's credentials (the procedure cannot restore without them, as an
// operator's shell could not); nothing else of Lifeboat's environment.

import { readFile } from "node:fs/promises";
import { parseDuration } from "../../domain/duration.ts";
import { LifeboatError } from "../../errors.ts";
import type { Config } from "../../engines/config.ts";
import { runRunbookDrill } from "../../drill/runbook-drill.ts";
import { readSection } from "../../runbook/sections.ts";
import { renderDrillRecord } from "../../report/drill-record.ts";
import { exitForStatus, keepDrillEvidence, notifyTargets, productionReasonOf } from "./drill.ts";
import { lifeboatChildVariables, lifeboatShim } from "../lifeboat-child.ts";
import { withRepository, type CommandEnv } from "../session.ts";

export interface RunbookDrillFlags {
  readonly runbook: string;
  readonly section?: string;
  readonly stepTimeout?: string;
  readonly operator?: string;
  readonly reviewer?: string;
}

export async function drillRunbookCommand(
  env: CommandEnv,
  names: readonly string[],
  flags: RunbookDrillFlags,
): Promise<void> {
  if (!flags.section)
    throw new LifeboatError("BAD_ARGUMENT", "--runbook needs --section TITLE: the section to run");
  const markdown = await readFile(flags.runbook, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new LifeboatError("BAD_ARGUMENT", `--runbook ${flags.runbook}: ${error.message}`, { cause: error });
  });
  const section = readSection(markdown, flags.section, flags.runbook);
  const stepTimeoutSeconds = parseDuration(flags.stepTimeout ?? "30m");
  const shim = await lifeboatShim();
  try {
    const report = await withRepository(
      env,
      { kind: "shared", command: "drill" },
      async (context, config) => {
        const sourceName = sourceOf(names, section.sources, flags.section!, config);
        const source = config.sources[sourceName]!;
        const { targets, problems } = notifyTargets(config);
        for (const problem of problems) env.log.warn(problem);
        env.log.info(
          `runbook drill of "${section.title}" (${flags.runbook}:${section.line}): ${section.blocks.length} step(s)${
            section.skipped ? `, ${section.skipped} block(s) without \`run\` not executed` : ""
          }`,
        );
        const drilled = await runRunbookDrill(context, {
          file: flags.runbook,
          section: section.title,
          steps: section.blocks.map((block) => ({ line: block.line, script: block.script })),
          sourceName,
          source,
          variables: lifeboatChildVariables(config, env.options.config, shim.dir),
          stepTimeoutSeconds,
          productionReason: productionReasonOf(config),
          ...(flags.operator !== undefined ? { operator: flags.operator } : {}),
          ...(flags.reviewer !== undefined ? { reviewer: flags.reviewer } : {}),
        });
        await keepDrillEvidence(env, context, config, drilled, targets);
        return drilled;
      },
    );
    env.output.result(report, () => renderDrillRecord(report));
    if (report.status !== "passed") {
      throw new LifeboatError("VERIFICATION_FAILED", `runbook drill ${report.status.replace("_", " ")}`, {
        reported: true,
        exitCode: exitForStatus(report.status),
      });
    }
  } finally {
    await shim.dispose();
  }
}

/** The source named on the command line, else the one the section's DR-CHECK markers name. */
function sourceOf(
  names: readonly string[],
  marked: readonly string[],
  title: string,
  config: Config,
): string {
  if (names.length > 1) throw new LifeboatError("BAD_ARGUMENT", "a runbook drill drills one source");
  const name = names[0] ?? (marked.length === 1 ? marked[0] : undefined);
  if (name === undefined) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      marked.length === 0
        ? `section "${title}" names no source (no DR-CHECK source=NAME marker): say which, e.g. lifeboat drill app-db --runbook ...`
        : `section "${title}" names ${marked.length} sources (${marked.join(", ")}): say which one the drill restores`,
    );
  }
  if (!(name in config.sources)) {
    throw new LifeboatError("BAD_ARGUMENT", `no source named ${name} in lifeboat.yaml`, {
      hint: `Declared: ${Object.keys(config.sources).join(", ") || "(none)"}`,
    });
  }
  return name;
}
