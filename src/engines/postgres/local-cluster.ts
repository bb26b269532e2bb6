// A throwaway PostgreSQL cluster for one drill: initdb into a fresh directory
// under the system temp dir, start it on 127.0.0.1 and a free port, stop it
// with `pg_ctl stop -m immediate` and delete the directory afterwards. The
// server binaries refuse to run as root, so when Lifeboat is root they run
// as the `postgres` system user (the directory is handed to that user).
//
// The directory is NOT inside the operation's temp dir: the caller removes
// that before a scratch target's destroy() may run. A cluster still running
// when the process exits (a second Ctrl-C, process.exit) is stopped and
// removed synchronously by an exit hook.

import { spawnSync } from "node:child_process";
import { access, chmod, chown, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LifeboatError } from "../../errors.ts";
import { freePort } from "../../runtime/free-port.ts";
import type { ProcessRunner, RunOptions } from "../../runtime/process.ts";
import type { EngineContext } from "../engine.ts";
import type { ServerBinaries } from "./server-binaries.ts";

export interface LocalCluster {
  readonly port: number;
  readonly dir: string;
  readonly major: number;
  /** Stop the server and delete its directory. Safe to call twice; a failed attempt can be retried. */
  stop(): Promise<void>;
}

const serverUser = "postgres";
const portAttempts = 3;

// Settings for a disposable target: nothing in it must survive a crash, so
// durability is traded for restore speed. Archiving is off (a drill's WAL
// must never reach a real archive).
const disposableSettings = {
  fsync: "off",
  full_page_writes: "off",
  synchronous_commit: "off",
  archive_mode: "off",
};

interface Running {
  readonly binDir: string;
  readonly dataDir: string;
  readonly dir: string;
  readonly user: string | undefined;
}
const running = new Map<string, Running>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const cluster of running.values()) {
      const command = [
        join(cluster.binDir, "pg_ctl"),
        "stop",
        "-D",
        cluster.dataDir,
        "-m",
        "immediate",
        "-s",
      ];
      const [file, ...args] = cluster.user ? ["runuser", "-u", cluster.user, "--", ...command] : command;
      spawnSync(file!, args, { stdio: "ignore" });
      rmSync(cluster.dir, { recursive: true, force: true });
    }
  });
}

export async function startLocalCluster(
  binaries: ServerBinaries,
  context: EngineContext,
): Promise<LocalCluster> {
  const user = process.getuid?.() === 0 ? serverUser : undefined;
  const dir = await mkdtemp(join(tmpdir(), "lifeboat-drill-"));
  const dataDir = join(dir, "data");
  const socketDir = join(dir, "sock");
  const record: Running = { binDir: binaries.binDir, dataDir, dir, user };
  const stop = stopper(record, context.runner);
  installExitHook();
  try {
    await chmod(dir, 0o755); // the server user must reach its data directory
    await mkdir(socketDir);
    if (user) {
      const { uid, gid } = await serverUserIds(context.runner);
      await chown(dir, uid, gid);
      await chown(socketDir, uid, gid);
    }
    const asServer: RunOptions = { cwd: dir, ...(user ? { user } : {}) };
    const initdb = await context.runner.run(
      join(binaries.binDir, "initdb"),
      ["-D", dataDir, "--auth=trust", "-U", "postgres", "--encoding=UTF8", "--locale=C", "--no-sync"],
      { ...asServer, ...(context.signal ? { signal: context.signal } : {}) },
    );
    context.signal?.throwIfAborted();
    if (!initdb.ok) throw startFailure(`initdb failed: ${initdb.stderr.trim() || initdb.stdout.trim()}`);

    const settings: Record<string, string> = {
      listen_addresses: "127.0.0.1",
      unix_socket_directories: `'${socketDir}'`,
      ...disposableSettings,
    };
    const options = Object.entries(settings)
      .map(([name, value]) => `-c ${name}=${value}`)
      .join(" ");
    // Another process may take the free port before the server binds it: try again with another.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const log = join(dir, "server.log");
      running.set(dir, record);
      const started = await context.runner.run(
        join(binaries.binDir, "pg_ctl"),
        ["start", "-D", dataDir, "-w", "-t", "60", "-s", "-l", log, "-o", `-p ${port} ${options}`],
        asServer,
      );
      context.signal?.throwIfAborted();
      if (started.ok) {
        context.log.debug(
          `started a throwaway PostgreSQL ${binaries.major} cluster in ${dir} on port ${port}`,
        );
        return { port, dir, major: binaries.major, stop };
      }
      if (attempt >= portAttempts) {
        const serverLog = await readFile(log, "utf8").catch(() => "");
        const tail = serverLog.trim().split("\n").slice(-5).join("\n");
        throw startFailure(`pg_ctl start failed: ${started.stderr.trim()}${tail ? `\n${tail}` : ""}`);
      }
    }
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

function stopper(cluster: Running, runner: ProcessRunner): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  const stopOnce = async () => {
    if (running.has(cluster.dir)) {
      // Immediate: the data is disposable, and a restore that was just killed must not delay teardown.
      // Deliberately without the operation's abort signal: teardown runs after an interruption.
      const stopped = await runner.run(
        join(cluster.binDir, "pg_ctl"),
        ["stop", "-D", cluster.dataDir, "-m", "immediate", "-s"],
        { cwd: cluster.dir, ...(cluster.user ? { user: cluster.user } : {}) },
      );
      // pg_ctl also fails when no server runs (it never started): only a live server is an error.
      if (!stopped.ok && (await exists(join(cluster.dataDir, "postmaster.pid")))) {
        throw new LifeboatError(
          "INTERNAL",
          `could not stop the throwaway PostgreSQL cluster in ${cluster.dir}: ${stopped.stderr.trim()}`,
        );
      }
      running.delete(cluster.dir);
    }
    await rm(cluster.dir, { recursive: true, force: true });
  };
  return () => {
    stopping ??= stopOnce().catch((error: unknown) => {
      stopping = undefined; // let a second call try again
      throw error;
    });
    return stopping;
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function startFailure(message: string): LifeboatError {
  return new LifeboatError(
    "TARGET_UNREACHABLE",
    `could not start a throwaway PostgreSQL cluster: ${message}`,
    {
      hint: "Check the message above (disk space, permissions of the temp dir, the postgres system user), or set drill.target.url to a scratch server.",
    },
  );
}

async function serverUserIds(runner: ProcessRunner): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([
    runner.run("id", ["-u", serverUser]),
    runner.run("id", ["-g", serverUser]),
  ]);
  if (!uid.ok || !gid.ok) {
    throw new LifeboatError(
      "TOOL_NOT_FOUND",
      `Lifeboat runs as root and PostgreSQL's server refuses root, but there is no '${serverUser}' system user to run it as`,
      {
        hint: "Install the PostgreSQL server package (it creates the postgres user), or run the drill as another user.",
      },
    );
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
