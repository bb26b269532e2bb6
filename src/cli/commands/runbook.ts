// lifeboat runbook check FILE... [--root DIR]: the DR-CHECK markers of
// Markdown runbooks against what is deployed (docs/runbooks.md). Every drift
// is listed with its file and line; any drift exits 6 (DEPLOY_DRIFT), like
// `deploy kubernetes --check`. A config that cannot be loaded is a drift of
// the markers that need it, not a failure: the other markers still run.

import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { configPath, loadConfig } from "../../engines/config.ts";
import { LifeboatError } from "../../errors.ts";
import { checkRunbook } from "../../runbook/check-runbook.ts";
import type { CheckContext, CommandLineCheck, Drift } from "../../runbook/drift.ts";
import { directoryFiles } from "../../runbook/files.ts";
import type { CommandEnv } from "../session.ts";

export interface RunbookCheckFlags {
  readonly root?: string;
}

/** -c/--config or LIFEBOAT_CONFIG when given, else the root's lifeboat.yaml (the repository a runbook lives in). */
async function loadDeclared(env: CommandEnv, root: string): Promise<CheckContext["config"]> {
  const explicit = env.options.config ?? process.env.LIFEBOAT_CONFIG;
  const path = explicit ? configPath(explicit) : join(root, "lifeboat.yaml");
  try {
    return { ok: true, value: (await loadConfig(path)).config };
  } catch (error) {
    const why = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return { ok: false, problem: `the config could not be loaded: ${why}` };
  }
}

async function readRunbooks(files: readonly string[]): Promise<string[]> {
  return Promise.all(
    files.map((file) =>
      readFile(file, "utf8").catch((error: unknown) => {
        throw new LifeboatError("BAD_ARGUMENT", `cannot read runbook ${file}: ${(error as Error).message}`, {
          hint: "Name existing Markdown files, e.g. `lifeboat runbook check docs/*.md --root .`.",
        });
      }),
    ),
  );
}

function indented(label: string, value: string | null): string {
  const lines = (value ?? "(none)").split("\n");
  return [`  ${label}: ${lines[0]}`, ...lines.slice(1).map((line) => `    ${line}`)].join("\n");
}

function driftText(drift: Drift): string {
  const heading = `${drift.file}:${drift.line}: ${drift.kind}: ${drift.message}`;
  // A broken marker or an unloadable config compares nothing: the message is all there is.
  if (drift.runbook === null && drift.deployed === null) return heading;
  return [heading, indented("runbook", drift.runbook), indented("deployed", drift.deployed)].join("\n");
}

export async function runbookCheckCommand(
  env: CommandEnv,
  files: readonly string[],
  flags: RunbookCheckFlags,
  commandLine: CommandLineCheck,
): Promise<void> {
  const root = resolve(flags.root ?? ".");
  const isDirectory = await stat(root).then(
    (info) => info.isDirectory(),
    () => false,
  );
  if (!isDirectory) throw new LifeboatError("BAD_ARGUMENT", `--root ${flags.root ?? "."} is not a directory`);
  const texts = await readRunbooks(files);
  const context: CheckContext = {
    files: directoryFiles(root),
    config: await loadDeclared(env, root),
    commandLine,
  };
  let markers = 0;
  const drifts: Drift[] = [];
  for (const [index, file] of files.entries()) {
    const result = await checkRunbook(file, texts[index]!, context);
    markers += result.markers;
    drifts.push(...result.drifts);
  }
  env.output.result({ files, markers, drifts }, () =>
    [
      ...drifts.map(driftText),
      `${markers} marker${markers === 1 ? "" : "s"} checked, ${drifts.length} drift${drifts.length === 1 ? "" : "s"}`,
    ].join("\n"),
  );
  if (drifts.length > 0) {
    throw new LifeboatError(
      "DEPLOY_DRIFT",
      `${drifts.length} drift(s) between the runbooks and what is deployed`,
      {
        reported: true,
        details: { drifts: drifts.length },
        hint: "Update the runbook where it is out of date, or the deployment where the runbook is right; docs/runbooks.md says what each marker checks.",
      },
    );
  }
}
