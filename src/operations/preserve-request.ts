// What a restore hands its engine to keep the target it replaces, and the
// records of what was kept (domain/preserved.ts). Used by restore.ts,
// pitr-restore.ts and the undo in preserved.ts.

import { randomBytes } from "node:crypto";
import { preserveStamp, type PreservedCopy, type PreservedRecord } from "../domain/preserved.ts";
import type { PreserveRequest } from "../engines/engine.ts";
import type { OperationContext } from "./context.ts";

/** A target without its password (a URL's, or `?password=`): as records keep it and children see it. */
export function credentialFree(target: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) return target;
  const url = URL.parse(target);
  if (!url || (!url.password && !url.searchParams.has("password"))) return target;
  url.password = "";
  url.searchParams.delete("password");
  return url.toString();
}

/** The same target however it is written: credentials, a trailing slash and letter case of the scheme aside. */
export function sameTarget(a: string, b: string): boolean {
  const normal = (target: string) => credentialFree(target).replace(/\/+$/, "");
  return normal(a) === normal(b);
}

/** What a restore passes to the engine, and the records of what the engine kept. */
export function preserveFor(
  context: OperationContext,
  about: { readonly source: string; readonly engine: string; readonly target: string },
  by: PreservedRecord["by"] = "restore",
): { readonly request: PreserveRequest; readonly kept: PreservedRecord[] } {
  const at = context.now();
  const kept: PreservedRecord[] = [];
  const request: PreserveRequest = {
    stamp: preserveStamp(at),
    kept: (copy) => kept.push(recordOf(copy, about, at, by)),
  };
  return { request, kept };
}

function recordOf(
  copy: PreservedCopy,
  about: { readonly source: string; readonly engine: string; readonly target: string },
  at: Date,
  by: PreservedRecord["by"],
): PreservedRecord {
  return {
    id: randomBytes(4).toString("hex"),
    source: about.source,
    engine: about.engine,
    target: credentialFree(about.target),
    keptAt: at.toISOString(),
    by,
    ...copy,
  };
}
