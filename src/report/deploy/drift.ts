// `deploy kubernetes --check DIR`: every difference between the resources
// Lifeboat renders and the manifests a team deployed (any *.yaml or *.yml
// files in DIR, multi-document streams included), by kind, namespace and
// name. The runbook issue's drift checks build on this.

import { parseAllDocuments } from "yaml";
import type { Resource } from "./kubernetes.ts";

export interface Difference {
  readonly resource: string;
  readonly kind: "missing" | "changed";
  /** For changed: the field paths that differ, each with both values. */
  readonly fields: readonly {
    readonly path: string;
    readonly rendered: unknown;
    readonly deployed: unknown;
  }[];
}

const keyOf = (resource: { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } }) =>
  `${String(resource.kind)}/${resource.metadata?.namespace ? `${String(resource.metadata.namespace)}/` : ""}${String(resource.metadata?.name)}`;

export function parseManifests(files: ReadonlyMap<string, string>): Map<string, unknown> {
  const deployed = new Map<string, unknown>();
  for (const text of files.values())
    for (const document of parseAllDocuments(text)) {
      const value = document.toJS() as { kind?: unknown; metadata?: { name?: unknown } } | null;
      if (value && typeof value === "object" && value.kind && value.metadata?.name)
        deployed.set(keyOf(value), value);
    }
  return deployed;
}

function compare(
  path: string,
  rendered: unknown,
  deployed: unknown,
  out: Difference["fields"][number][],
): void {
  if (
    typeof rendered === "object" &&
    rendered !== null &&
    typeof deployed === "object" &&
    deployed !== null
  ) {
    if (Array.isArray(rendered) !== Array.isArray(deployed)) {
      out.push({ path, rendered, deployed });
      return;
    }
    const keys = new Set([...Object.keys(rendered), ...Object.keys(deployed)]);
    for (const key of keys)
      compare(
        Array.isArray(rendered) ? `${path}[${key}]` : `${path}.${key}`,
        (rendered as Record<string, unknown>)[key],
        (deployed as Record<string, unknown>)[key],
        out,
      );
    return;
  }
  if (rendered !== deployed) out.push({ path, rendered, deployed });
}

export function driftOf(rendered: readonly Resource[], deployed: ReadonlyMap<string, unknown>): Difference[] {
  const differences: Difference[] = [];
  for (const resource of rendered) {
    const key = keyOf(resource);
    const found = deployed.get(key);
    if (found === undefined) {
      differences.push({ resource: key, kind: "missing", fields: [] });
      continue;
    }
    const fields: Difference["fields"][number][] = [];
    compare("", resource, found, fields);
    // The cluster adds status and bookkeeping; a team's own annotations are theirs.
    const relevant = fields.filter(
      ({ path }) =>
        !path.startsWith(".status") &&
        !/^\.metadata\.(annotations|creationTimestamp|resourceVersion|uid|generation|managedFields)/.test(
          path,
        ),
    );
    if (relevant.length) differences.push({ resource: key, kind: "changed", fields: relevant });
  }
  return differences;
}
