// A throwaway PostgreSQL 15 cluster for the benchmark: initdb + pg_ctl as the
// `postgres` user (the server refuses to run as root), listening on 127.0.0.1
// on a free port with trust auth. Settings are the PostgreSQL defaults
// (fsync=on, shared_buffers=128MB) so every contender pays the same price.

import { spawn } from "node:child_process";
import { chmod, chown, mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { execFileSync } from "node:child_process";

export const pgBin = "/usr/lib/postgresql/15/bin";

export interface BenchCluster {
  readonly name: string;
  readonly port: number;
  readonly dataDir: string;
  url(database: string): string;
  /** Runs SQL with psql and returns its unaligned, tuples-only output. */
  psql(sql: string, database?: string): Promise<string>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runTool(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-20000)));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function mustRun(command: string, args: readonly string[]): Promise<string> {
  const outcome = await runTool(command, args);
  if (outcome.code !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited ${outcome.code}: ${outcome.stderr.trim()}`);
  }
  return outcome.stdout;
}

const asPostgres = (tool: string, args: readonly string[]) =>
  mustRun("runuser", ["-u", "postgres", "--", join(pgBin, tool), ...args]);

/** `baseDir` must already exist with readable parents; the cluster lives in baseDir/name. */
export async function startCluster(baseDir: string, name: string): Promise<BenchCluster> {
  const dataDir = join(baseDir, name);
  await mkdir(dataDir, { recursive: true });
  await chmod(dataDir, 0o700);
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  await chown(dataDir, uid, gid);
  await asPostgres("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  return startDataDir(dataDir, name);
}

/**
 * Starts the cluster already in `dataDir` (made by initdb, or a copy of one),
 * as the postgres user on a free port with its socket in the data directory.
 */
export async function startDataDir(dataDir: string, name: string): Promise<BenchCluster> {
  const port = await freePort();
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dataDir}`;
  await asPostgres("pg_ctl", [
    "-D",
    dataDir,
    "-l",
    join(dataDir, "server.log"),
    "-w",
    "-o",
    options,
    "start",
  ]);
  let running = true;
  const cluster: BenchCluster = {
    name,
    port,
    dataDir,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    psql: (sql, database = "postgres") =>
      mustRun(join(pgBin, "psql"), [
        ...connectionArgs(port),
        "-d",
        database,
        "-X",
        "-q",
        "-At",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        sql,
      ]).then((out) => out.trim()),
    stop: async () => {
      if (!running) return;
      running = false;
      await asPostgres("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "stop"]).catch(() => undefined);
    },
  };
  return cluster;
}

export function connectionArgs(port: number): string[] {
  return ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres"];
}

/** Synchronous last-resort stop, for signal handlers that cannot await. */
export function stopClusterNow(dataDir: string): void {
  try {
    execFileSync(
      "runuser",
      ["-u", "postgres", "--", join(pgBin, "pg_ctl"), "-D", dataDir, "-m", "immediate", "stop"],
      {
        stdio: "ignore",
      },
    );
  } catch {
    // already stopped
  }
}
