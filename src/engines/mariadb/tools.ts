// The service's own command-line tools: mariadb-dump (or mysqldump) for
// capture and the mariadb (or mysql) client for loading a dump. Every run
// gets its connection from a private defaults file (mode 0600, in the
// engine's temp dir, removed afterwards) named by --defaults-file, which must
// be the first argument: the password is never an argument and never in the
// child's environment, and the host's /etc/mysql/my.cnf cannot change the
// dump's format or point the tool at another server.

import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, rm, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { LifeboatError, type ErrorCode } from "../../errors.ts";
import { readPassword, type MariadbLocation } from "./connection.ts";

export type ToolKind = "dump" | "client";

const candidates: Record<ToolKind, readonly string[]> = {
  dump: ["mariadb-dump", "mysqldump"],
  client: ["mariadb", "mysql"],
};

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first of the tool's names found on PATH (MariaDB's name first); TOOL_NOT_FOUND with a hint otherwise. */
export async function findTool(kind: ToolKind): Promise<string> {
  const directories = (process.env.PATH ?? "").split(delimiter).filter((dir) => dir !== "");
  for (const name of candidates[kind]) {
    for (const directory of directories) {
      const path = join(directory, name);
      if (await isExecutable(path)) return path;
    }
  }
  throw new LifeboatError("TOOL_NOT_FOUND", `neither ${candidates[kind].join(" nor ")} is on PATH`, {
    hint: "Install the MariaDB client tools (Debian: apt install mariadb-client; MySQL: mysql-client) or put them on PATH.",
  });
}

/** One option-file value, quoted so any character survives (the client unescapes \\ and \"). */
function optionValue(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

export interface DefaultsFile {
  /** The first argument every tool run must get. */
  readonly argument: string;
  remove(): Promise<void>;
}

/** Write the [client] connection for `location` to a 0600 file in `tempDir`. */
export async function writeDefaultsFile(
  location: MariadbLocation,
  tempDir: string,
  code: ErrorCode,
): Promise<DefaultsFile> {
  const password = readPassword(location, code);
  const lines = ["[client]", `user=${optionValue(location.user)}`];
  if (location.socket) {
    lines.push(`socket=${optionValue(location.socket)}`, "protocol=SOCKET");
  } else {
    lines.push(`host=${optionValue(location.host)}`, `port=${location.port}`, "protocol=TCP");
  }
  if (password !== undefined) lines.push(`password=${optionValue(password)}`);
  const path = join(tempDir, `mariadb-${randomBytes(6).toString("hex")}.cnf`);
  await writeFile(path, lines.join("\n") + "\n", { mode: 0o600, flag: "wx" });
  return {
    argument: `--defaults-file=${path}`,
    remove: () => rm(path, { force: true }),
  };
}

/** Run `work` with a defaults file that is removed afterwards, whatever happens. */
export async function withDefaultsFile<T>(
  location: MariadbLocation,
  tempDir: string,
  code: ErrorCode,
  work: (defaults: DefaultsFile) => Promise<T>,
): Promise<T> {
  const defaults = await writeDefaultsFile(location, tempDir, code);
  try {
    return await work(defaults);
  } finally {
    await defaults.remove();
  }
}

/** mariadb-dump's options for a consistent logical dump (the tool's own single transaction). */
export function dumpArguments(databases: readonly string[], several: boolean): string[] {
  return [
    "--single-transaction",
    "--routines",
    "--events",
    "--triggers",
    "--hex-blob",
    // Comments are kept: the "-- Dump completed" trailer is the tool's own word that it finished.
    "--skip-dump-date",
    "--skip-add-locks",
    "--default-character-set=utf8mb4",
    // One database is dumped without --databases, so the dump has no CREATE DATABASE or USE
    // lines and loads into any name (the partial database); several need --databases.
    ...(several ? ["--databases", "--", ...databases] : ["--", ...databases]),
  ];
}
