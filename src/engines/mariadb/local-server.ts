// A throwaway MariaDB server for drills (and the engine's tests): a fresh
// data directory from mariadb-install-db in a temp dir, mariadbd on a free
// loopback port with its socket in that dir, root without a password (it
// listens on 127.0.0.1 only and lives for one drill). Stopped and deleted by
// stop(); servers still running when the process exits are killed then, so
// none outlives its drill unless keep() disarmed that.

import { spawn, type ChildProcess } from "node:child_process";
import { constants, rmSync } from "node:fs";
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { loadMariadbConnector } from "./connector.ts";
import { LifeboatError } from "../../errors.ts";
import { childEnvironment } from "../../runtime/child-env.ts";
import { freePort } from "../../runtime/free-port.ts";

export interface LocalMariadb {
  readonly port: number;
  readonly dir: string;
  readonly socket: string;
  /** mariadb://root@127.0.0.1:<port>/<database>. */
  url(database?: string): string;
  stop(): Promise<void>;
  /** Leave it running (keep_on_failure); returns how to reach and remove it. */
  keep(): string;
}

const running = new Map<ChildProcess, string>();
process.on("exit", () => {
  for (const [child, dir] of running) {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

async function findBinary(names: readonly string[]): Promise<string> {
  const directories = [
    ...(process.env.PATH ?? "").split(delimiter),
    "/usr/sbin",
    "/usr/local/sbin",
    "/usr/bin",
  ];
  for (const name of names) {
    for (const directory of directories.filter((dir) => dir !== "")) {
      const path = join(directory, name);
      try {
        await access(path, constants.X_OK);
        return path;
      } catch {
        // next
      }
    }
  }
  throw new LifeboatError(
    "TOOL_NOT_FOUND",
    `cannot find ${names.join(" or ")} for a throwaway MariaDB server`,
    {
      hint: "Install the MariaDB server (Debian: apt install mariadb-server), or give the drill a scratch server with drill.target.url.",
    },
  );
}

function runToEnd(
  command: string,
  args: readonly string[],
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: childEnvironment(), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", (error) => resolve({ code: -1, output: output + error.message }));
    child.on("close", (code) => resolve({ code, output }));
  });
}

export async function startLocalMariadb(): Promise<LocalMariadb> {
  const installDb = await findBinary(["mariadb-install-db", "mysql_install_db"]);
  const server = await findBinary(["mariadbd", "mysqld"]);
  const dir = await mkdtemp(join(tmpdir(), "lifeboat-mariadb-"));
  const datadir = join(dir, "data");
  const socket = join(dir, "mysqld.sock");
  // As root the server refuses to run unless told to run as root (the datadir is ours, owned by root).
  const asRoot = process.getuid?.() === 0 ? ["--user=root"] : [];
  const installed = await runToEnd(installDb, [
    "--no-defaults",
    `--datadir=${datadir}`,
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
    ...asRoot,
  ]);
  if (installed.code !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new LifeboatError("TOOL_NOT_FOUND", `mariadb-install-db failed: ${installed.output.slice(-2000)}`);
  }
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      server,
      [
        "--no-defaults",
        `--datadir=${datadir}`,
        `--port=${port}`,
        "--bind-address=127.0.0.1",
        "--skip-networking=0",
        `--socket=${socket}`,
        `--pid-file=${join(dir, "mysqld.pid")}`,
        `--log-error=${join(dir, "error.log")}`,
        "--innodb-buffer-pool-size=64M",
        "--innodb-flush-log-at-trx-commit=2",
        "--skip-log-bin",
        ...asRoot,
      ],
      { env: childEnvironment(), stdio: "ignore" },
    );
    running.set(child, dir);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    if (await waitUntilReady(port, child)) return handle(port, dir, socket, child, exited);
    running.delete(child);
    child.kill("SIGKILL");
    await exited;
    if (attempt >= 3) {
      const log = await readFile(join(dir, "error.log"), "utf8").catch(() => "");
      await rm(dir, { recursive: true, force: true });
      throw new LifeboatError("TOOL_NOT_FOUND", `mariadbd did not start:\n${log.slice(-2000)}`);
    }
  }
}

async function waitUntilReady(port: number, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const { createConnection } = await loadMariadbConnector();
      const connection = await createConnection({
        host: "127.0.0.1",
        port,
        user: "root",
        connectTimeout: 2000,
      });
      await connection.end();
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return false;
}

function handle(
  port: number,
  dir: string,
  socket: string,
  child: ChildProcess,
  exited: Promise<void>,
): LocalMariadb {
  let stopped = false;
  return {
    port,
    dir,
    socket,
    url: (database = "") => `mariadb://root@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      running.delete(child);
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
    keep: () => {
      running.delete(child);
      child.unref();
      return `a throwaway MariaDB server on 127.0.0.1:${port} (pid ${child.pid}, data in ${dir}); stop it with kill ${child.pid} and remove ${dir}`;
    },
  };
}
