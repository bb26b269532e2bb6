// Restore targets of engines whose targets are local paths (sqlite, files).

import { resolve } from "node:path";
import { LifeboatError } from "../errors.ts";

/** A path, never a URL: `--to postgres://...` for a file source is a mistake, not a relative path. */
export function checkLocalPath(target: string, engine: string, what: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `the ${engine} target ${target.replace(/\/\/[^/@]*@/, "//***@")} is a URL; a ${engine} target is ${what}`,
      {
        hint: `Pass --to with a path, e.g. --to /var/restore/${engine === "sqlite" ? "app.db" : "uploads"}.`,
      },
    );
  }
  if (target.trim() === "") throw new LifeboatError("BAD_ARGUMENT", `the ${engine} target is empty`);
  return resolve(target);
}
