// Throwaway PostgreSQL clusters for integration tests: a real server in a
// fresh directory on a free TCP port, tuned for speed (fsync off, tiny
// buffers) and torn down with `stop()`. Server binaries refuse to run as root,
// so they run as the `postgres` system user; client tools connect over TCP.

import { spawn, spawnSync } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../src/runtime/free-port.ts";

export { freePort };

export const pgBinDir = process.env.LIFEBOAT_PG_BINDIR ?? "/usr/lib/postgresql/15/bin";
const serverUser = "postgres";

export interface PgCluster {
  readonly port: number;
  readonly dataDir: string;
  /** A connection URL for this cluster (no password: the cluster trusts local TCP). */
  url(dbName?: string, user?: string): string;
  /** Run SQL through psql (-Atq -X, ON_ERROR_STOP) and return its output without the final newline. */
  psql(sql: string, db?: string): Promise<string>;
  /** A plain-format pg_dump (schema and data) of one database, for comparing databases (its random \restrict key masked). */
  dumpPlain(db: string): Promise<string>;
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  /** Extra `-c name=value` server settings. */
  readonly settings?: Readonly<Record<string, string>>;
}

interface Output {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], input?: string): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? "");
  });
}

export async function runChecked(command: string, args: readonly string[], input?: string): Promise<string> {
  const result = await run(command, args, input);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed (exit ${result.code}):\n${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}

export function asServerUser(binary: string, args: readonly string[]): [string, string[]] {
  return ["runuser", ["-u", serverUser, "--", join(pgBinDir, binary), ...args]];
}

// Clusters still running when the test process exits (a failed `before`, a
// crash) are stopped synchronously so no postgres outlives its test file.
const running = new Set<string>();
process.on("exit", () => {
  for (const dataDir of running) {
    spawnSync(...asServerUser("pg_ctl", ["stop", "-D", dataDir, "-m", "immediate", "-s"]), {
      stdio: "ignore",
    });
  }
});

/** Run SQL through psql against 127.0.0.1:port as postgres (-Atq -X, ON_ERROR_STOP), output without the final newline. */
export function psqlAt(port: number, db = "postgres"): (sql: string) => Promise<string> {
  return async (sql) => {
    const args = ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port)];
    const output = await runChecked("psql", [...args, "-U", "postgres", "-d", db], sql);
    return output.replace(/\n$/, "");
  };
}

/** A fresh base directory owned by the server user: `data` (not yet created) and `sock` inside. */
export interface ClusterDirs {
  readonly baseDir: string;
  readonly dataDir: string;
  readonly socketDir: string;
}

export async function makeClusterDirs(): Promise<ClusterDirs> {
  const baseDir = await mkdtemp(join(tmpdir(), "lifeboat-pg-"));
  await chmod(baseDir, 0o755);
  const dataDir = join(baseDir, "data");
  const socketDir = join(baseDir, "sock");
  await mkdir(socketDir);
  const { uid, gid } = serverIds();
  await chown(baseDir, uid, gid);
  await chown(socketDir, uid, gid);
  return { baseDir, dataDir, socketDir };
}

export async function startCluster(options: StartClusterOptions = {}): Promise<PgCluster> {
  const dirs = await makeClusterDirs();
  const { dataDir } = dirs;

  await runChecked(
    ...asServerUser("initdb", [
      "-D",
      dataDir,
      "--auth=trust",
      "-U",
      "postgres",
      "--encoding=UTF8",
      "--locale=C.UTF-8",
      "--no-sync",
      "--no-instructions",
    ]),
  );
  return launchCluster(dirs, options);
}

/**
 * Start the server on an existing data directory (made by initdb, or by
 * pg_basebackup for a standby) with the test settings, on a free port.
 */
export async function launchCluster(
  dirs: ClusterDirs,
  options: StartClusterOptions = {},
): Promise<PgCluster> {
  const { baseDir, dataDir, socketDir } = dirs;
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: socketDir,
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
    shared_buffers: "16MB",
    max_connections: "40",
    ...options.settings,
  };
  const serverArgs = Object.entries(settings)
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(" ");

  // Another process may grab the port between freePort() and the server's
  // bind; retry with a new port rather than fail the test run.
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const started = await run(
      ...asServerUser("pg_ctl", [
        "start",
        "-D",
        dataDir,
        "-w",
        "-t",
        "60",
        "-s",
        "-l",
        join(baseDir, "server.log"),
        "-o",
        `-p ${port} ${serverArgs}`,
      ]),
    );
    if (started.code === 0) break;
    if (attempt >= 3) {
      const log = await run("cat", [join(baseDir, "server.log")]);
      await rm(baseDir, { recursive: true, force: true });
      throw new Error(`pg_ctl start failed:\n${started.stderr}\n${log.stdout}`);
    }
  }
  running.add(dataDir);

  const url = (dbName = "postgres", user = "postgres") =>
    `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(dbName)}`;

  return {
    port,
    dataDir,
    url,
    psql: (sql, db = "postgres") => psqlAt(port, db)(sql),
    async dumpPlain(db) {
      const dump = await runChecked("pg_dump", [
        "--no-sync",
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        "postgres",
        "-d",
        db,
      ]);
      // pg_dump ≥ 15.14 brackets its output with \restrict / \unrestrict and a random key.
      return dump.replace(/^\\(un)?restrict \S+$/gm, "\\$1restrict <key>");
    },
    async stop() {
      if (running.delete(dataDir)) {
        await run(...asServerUser("pg_ctl", ["stop", "-D", dataDir, "-m", "immediate", "-s"]));
      }
      await rm(baseDir, { recursive: true, force: true });
    },
  };
}

function serverIds(): { uid: number; gid: number } {
  const uid = Number(spawnSync("id", ["-u", serverUser], { encoding: "utf8" }).stdout.trim());
  const gid = Number(spawnSync("id", ["-g", serverUser], { encoding: "utf8" }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || spawnSync("id", [serverUser]).status !== 0) {
    throw new Error(`the system user '${serverUser}' is needed to run PostgreSQL test clusters`);
  }
  return { uid, gid };
}
