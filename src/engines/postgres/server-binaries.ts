// Local PostgreSQL server binaries (initdb, pg_ctl, postgres) for a throwaway
// drill cluster. A dump restores into a server of the same or a newer major
// version, so the oldest installed major that is at least the source's is
// chosen: the closest match to production. Places looked at: Debian/Ubuntu's
// /usr/lib/postgresql/<major>/bin, Red Hat's /usr/pgsql-<major>/bin, and
// `pg_config --bindir` (whatever is on PATH).

import { access, constants, readdir } from "node:fs/promises";
import { join } from "node:path";
import { LifeboatError } from "../../errors.ts";
import type { EngineContext } from "../engine.ts";

export interface ServerBinaries {
  readonly binDir: string;
  readonly major: number;
}

const required = ["initdb", "pg_ctl", "postgres"];

async function candidateDirs(context: EngineContext): Promise<string[]> {
  const dirs: string[] = [];
  const debian = await readdir("/usr/lib/postgresql").catch(() => [] as string[]);
  for (const entry of debian) if (/^\d+$/.test(entry)) dirs.push(join("/usr/lib/postgresql", entry, "bin"));
  const redHat = await readdir("/usr").catch(() => [] as string[]);
  for (const entry of redHat) if (/^pgsql-\d+$/.test(entry)) dirs.push(join("/usr", entry, "bin"));
  const config = await context.runner.run("pg_config", ["--bindir"]).catch(() => undefined);
  const fromPath = config?.ok ? config.stdout.trim() : "";
  if (fromPath && !dirs.includes(fromPath)) dirs.push(fromPath);
  return dirs;
}

/** The major version of the server binaries in `binDir`, or undefined when they are incomplete. */
async function majorOf(binDir: string, context: EngineContext): Promise<number | undefined> {
  for (const binary of required) {
    try {
      await access(join(binDir, binary), constants.X_OK);
    } catch {
      return undefined;
    }
  }
  // "pg_ctl (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"; 9.6 reports "9.6.24" (major 9).
  const version = await context.runner.run(join(binDir, "pg_ctl"), ["--version"]);
  const match = /\(PostgreSQL\)\s+(\d+)/.exec(version.stdout);
  return version.ok && match ? Number(match[1]) : undefined;
}

/**
 * The oldest local server binaries of at least `minMajor`; the newest ones
 * when `minMajor` is unknown (the source could not be asked).
 */
export async function findServerBinaries(
  minMajor: number | undefined,
  context: EngineContext,
): Promise<ServerBinaries> {
  const found: ServerBinaries[] = [];
  for (const binDir of await candidateDirs(context)) {
    const major = await majorOf(binDir, context);
    if (major !== undefined) found.push({ binDir, major });
  }
  const usable = found
    .filter((binaries) => minMajor === undefined || binaries.major >= minMajor)
    .sort((left, right) => left.major - right.major);
  const chosen = minMajor === undefined ? usable.at(-1) : usable[0];
  if (chosen) return chosen;
  const seen = found.length
    ? ` (found ${found.map((binaries) => `PostgreSQL ${binaries.major} in ${binaries.binDir}`).join(", ")})`
    : "";
  const wanted = minMajor === undefined ? "PostgreSQL server binaries" : `PostgreSQL ${minMajor} or newer`;
  throw new LifeboatError(
    "TOOL_NOT_FOUND",
    `a drill without drill.target needs local ${wanted} (initdb, pg_ctl, postgres) to start a throwaway cluster${seen}`,
    {
      hint:
        `Install the server package (Debian/Ubuntu: apt install postgresql-${minMajor ?? "<major>"}; ` +
        "Red Hat: the postgresqlNN-server package), or set drill.target.url to a scratch server.",
      details: { minMajor: minMajor ?? null, found: found.map((binaries) => binaries.binDir) },
    },
  );
}
