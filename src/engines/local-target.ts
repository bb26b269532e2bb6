// Restore targets of engines whose targets are local paths (sqlite, files).

import { resolve } from "node:path";
import { LifeboatError } from "../errors.ts";
import { redact } from "../runtime/redact.ts";

/** A path, never a URL: `--to postgres://...` for a file source is a mistake, not a relative path. */
export function checkLocalPath(target: string, engine: string, what: string, example: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `the ${engine} target ${redact(target)} is a URL; a ${engine} target is ${what}`,
      {
        hint: `Pass --to with a path, e.g. --to ${example}.`,
      },
    );
  }
  if (target.trim() === "") throw new LifeboatError("BAD_ARGUMENT", `the ${engine} target is empty`);
  return resolve(target);
}
