// cronjob=NAME manifest=PATH: the manifest (a multi-document YAML stream, or
// a `kind: List`) holds a CronJob NAME whose container runs exactly the
// governed block, compared line by line after trimming (normalise.ts).

import { parseAllDocuments } from "yaml";
import { containerScript, type ContainerSpec } from "./container-script.ts";
import type { Check, Finding } from "./drift.ts";
import { firstDifference, normaliseScript } from "./normalise.ts";

interface Resource {
  readonly apiVersion?: unknown;
  readonly kind?: unknown;
  readonly metadata?: { readonly name?: unknown };
  readonly items?: unknown;
  readonly spec?: {
    readonly jobTemplate?: {
      readonly spec?: { readonly template?: { readonly spec?: { readonly containers?: unknown } } };
    };
  };
}

function resources(value: unknown): Resource[] {
  if (!value || typeof value !== "object") return [];
  const resource = value as Resource;
  if (resource.kind === "List" || (String(resource.kind).endsWith("List") && Array.isArray(resource.items)))
    return (Array.isArray(resource.items) ? resource.items : []).flatMap(resources);
  return [resource];
}

const isCronJob = (resource: Resource) =>
  resource.kind === "CronJob" && /^batch\/v1(beta1)?$/.test(String(resource.apiVersion));

export const checkCronJob: Check = async (marker, context) => {
  const fields = marker.syntax.ok ? marker.syntax.fields : new Map();
  const name = String(fields.get("cronjob"));
  const path = String(fields.get("manifest"));
  const block = marker.code!;
  const text = await context.files.read(path);
  if (text === undefined)
    return [
      { kind: "manifest-missing", message: `manifest ${path} not found under the root`, deployed: null },
    ];
  const documents = parseAllDocuments(text);
  const all = Array.isArray(documents) ? documents : [documents];
  const broken = all.find((document) => document.errors.length > 0);
  if (broken)
    return [
      {
        kind: "manifest-invalid",
        message: `${path} is not valid YAML: ${broken.errors[0]!.message.split("\n")[0]}`,
      },
    ];
  const found = all.flatMap((document) => resources(document.toJS()));
  const cronJobs = found.filter(isCronJob);
  const cronJob = cronJobs.find((resource) => resource.metadata?.name === name);
  if (!cronJob) {
    const names = cronJobs.map((resource) => String(resource.metadata?.name));
    return [
      {
        kind: "cronjob-missing",
        message: `${path} has no CronJob named ${name}${names.length ? ` (it has ${names.join(", ")})` : ""}`,
        runbook: name,
        deployed: names.length ? names.join(", ") : null,
      },
    ];
  }
  const containers = cronJob.spec?.jobTemplate?.spec?.template?.spec?.containers;
  const scripts = (Array.isArray(containers) ? (containers as ContainerSpec[]) : []).map(containerScript);
  const expected = normaliseScript(block.value);
  const scriptsLines = scripts.map(normaliseScript);
  if (scriptsLines.some((lines) => firstDifference(expected, lines) < 0)) return [];
  const deployed = scriptsLines[0] ?? [];
  const at = firstDifference(expected, deployed);
  const finding: Finding = {
    kind: "script-differs",
    line: block.line,
    message:
      scripts.length === 0
        ? `CronJob ${name} in ${path} has no container`
        : `CronJob ${name} runs another script: line ${at + 1} is ${JSON.stringify(deployed[at] ?? "(none)")}, the runbook has ${JSON.stringify(expected[at] ?? "(none)")}`,
    runbook: expected.join("\n"),
    deployed: scripts.length ? deployed.join("\n") : null,
  };
  return [finding];
};
