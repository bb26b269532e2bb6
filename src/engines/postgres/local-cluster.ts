// A throwaway PostgreSQL cluster for one drill: initdb into a fresh directory
// under the system temp dir, start it, stop it with `pg_ctl stop -m immediate`
// and delete the directory afterwards. The server binaries refuse to run as
// root, so when Lifeboat is root they run as the `postgres` system user (the
// directory is handed to that user).
//
// The cluster holds a copy of production data, so only its owner may reach
// it: it listens on no TCP address at all, only on a unix socket inside the
// cluster's 0700 directory. Authentication there is `trust`: the kernel's
// directory permissions already admit only the server user and root, and
// both can read the data files directly anyway, so a password (scram) would
// keep no one else out and would have to travel to every tool and check.
// TCP connections are rejected by pg_hba.conf too, should anything ever make
// the server listen.
//
// The directory is NOT inside the operation's temp dir: the caller removes
// that before a scratch target's destroy() may run. A cluster still running
// when the process exits (a second Ctrl-C, process.exit) is stopped and
// removed synchronously by an exit hook.

import { spawnSync } from "node:child_process";
import { access, chmod, chown, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { rmSync } from "node:fs";
import { tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { LifeboatError } from "../../errors.ts";
import { childEnvironment } from "../../runtime/child-env.ts";
import { freePort } from "../../runtime/free-port.ts";
import type { ProcessRunner, RunOptions } from "../../runtime/process.ts";
import type { EngineContext } from "../engine.ts";
import type { ServerBinaries } from "./server-binaries.ts";

export interface LocalCluster {
  /** Only names the socket file (.s.PGSQL.<port>): the server listens on no TCP port. */
  readonly port: number;
  readonly dir: string;
  /** The directory of the server's only socket: libpq's host for it. */
  readonly socketDir: string;
  readonly major: number;
  /** Stop the server and delete its directory. Safe to call twice; a failed attempt can be retried. */
  stop(): Promise<void>;
  /**
   * Leave the server running after this process exits (keep_on_failure): the
   * exit hook forgets it. Returns how to reach it and how to remove it.
   */
  keep(database: string): string;
}

const serverUser = "postgres";

// Settings for a disposable target: nothing in it must survive a crash, so
// durability is traded for restore speed. Archiving is off (a drill's WAL
// must never reach a real archive).
const disposableSettings = {
  fsync: "off",
  full_page_writes: "off",
  synchronous_commit: "off",
  archive_mode: "off",
};

/**
 * A cluster Lifeboat initdb's for a logical drill receives one bulk load and
 * is thrown away: set up for loading as PostgreSQL's "Populating a Database"
 * advises. `wal_level=minimal` (no WAL senders) writes no WAL for index builds
 * on the new tables; checkpoints are far apart; index builds get more memory
 * (a sixteenth of this machine's, 64 MB to 1 GB each); no autovacuum competes
 * with the COPYs for the two cores. Not for recovered clusters: those replay
 * the source's WAL and keep the settings recovery needs.
 */
export function loadingSettings(memoryBytes = totalmem()): Record<string, string> {
  const maintenanceMb = Math.max(64, Math.min(1024, Math.floor(memoryBytes / 16 / 2 ** 20)));
  return {
    wal_level: "minimal",
    max_wal_senders: "0",
    max_wal_size: "8GB",
    checkpoint_timeout: "30min",
    maintenance_work_mem: `${maintenanceMb}MB`,
    autovacuum: "off",
  };
}

interface Running {
  readonly binDir: string;
  readonly dataDir: string;
  readonly dir: string;
  readonly socketDir: string;
  readonly user: string | undefined;
}
const running = new Map<string, Running>();
/** Cluster homes of this process (removed when the process exits, running or not). */
const homes = new Map<string, Running>();
const socketDirs = new Set<string>();
let exitHookInstalled = false;

/** Whether `host` is the socket directory of a throwaway cluster of this process (it needs no password). */
export function isThrowawaySocket(host: string | undefined): boolean {
  return host !== undefined && socketDirs.has(host);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const home of homes.values())
      if (!running.has(home.dir)) rmSync(home.dir, { recursive: true, force: true });
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
      spawnSync(file!, args, { stdio: "ignore", env: childEnvironment() });
      rmSync(cluster.dir, { recursive: true, force: true });
    }
  });
}

export async function startLocalCluster(
  binaries: ServerBinaries,
  context: EngineContext,
): Promise<LocalCluster> {
  const home = await makeClusterHome(binaries, context);
  try {
    // The server binaries get the base environment only (runner): no libpq password, nothing of Lifeboat's.
    const initdb = await context.runner.run(
      join(binaries.binDir, "initdb"),
      [
        "-D",
        home.dataDir,
        "--auth-local=trust",
        "--auth-host=reject",
        "-U",
        "postgres",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
      ],
      { ...home.asServer, ...(context.signal ? { signal: context.signal } : {}) },
    );
    context.signal?.throwIfAborted();
    if (!initdb.ok) throw startFailure(`initdb failed: ${initdb.stderr.trim() || initdb.stdout.trim()}`);
    return await startServerIn(home, loadingSettings(), context);
  } catch (error) {
    await home.remove().catch(() => {});
    throw error;
  }
}

/** A fresh 0700 directory for one throwaway server, owned by the server user; `dataDir` inside it is not made yet. */
export interface ClusterHome {
  readonly binaries: ServerBinaries;
  readonly dir: string;
  readonly dataDir: string;
  readonly socketDir: string;
  /** The server user when Lifeboat runs as root (its ids, for files Lifeboat writes for the server). */
  readonly user: { readonly name: string; readonly uid: number; readonly gid: number } | undefined;
  /** Run options for the server binaries (cwd, the server user). */
  readonly asServer: RunOptions;
  /** Stop a server started in it (if any) and delete the directory. Safe to call twice. */
  remove(): Promise<void>;
}

export async function makeClusterHome(
  binaries: ServerBinaries,
  context: EngineContext,
): Promise<ClusterHome> {
  const userName = process.getuid?.() === 0 ? serverUser : undefined;
  const dir = await mkdtemp(join(tmpdir(), "lifeboat-drill-"));
  const dataDir = join(dir, "data");
  const socketDir = join(dir, "sock");
  const record: Running = { binDir: binaries.binDir, dataDir, dir, socketDir, user: userName };
  const remove = stopper(record, context.runner);
  installExitHook();
  try {
    // mkdtemp made `dir` 0700; the server user becomes its owner, nobody else may enter.
    await chmod(dir, 0o700);
    await mkdir(socketDir, { mode: 0o700 });
    let user: ClusterHome["user"];
    if (userName) {
      const { uid, gid } = await serverUserIds(context.runner);
      await chown(dir, uid, gid);
      await chown(socketDir, uid, gid);
      user = { name: userName, uid, gid };
    }
    const asServer: RunOptions = { cwd: dir, ...(userName ? { user: userName } : {}) };
    homes.set(dir, record);
    return { binaries, dir, dataDir, socketDir, user, asServer, remove };
  } catch (error) {
    await remove().catch(() => {});
    throw error;
  }
}

/**
 * Start the server of `home` on its unix socket only, with the disposable
 * settings plus `extra` (a recovered cluster adds its hba file). With
 * `wait: false` pg_ctl returns at once (a recovering server may take long
 * before it accepts connections; the caller watches it).
 */
export async function startServerIn(
  home: ClusterHome,
  extra: Readonly<Record<string, string>>,
  context: EngineContext,
  options: { wait?: boolean } = {},
): Promise<LocalCluster> {
  const { binaries, dir, dataDir, socketDir, asServer } = home;
  const record = homes.get(dir);
  if (!record) throw new LifeboatError("INTERNAL", `${dir} is not a cluster home of this process`);
  // pg_ctl hands -o to a shell: values are quoted for it ('' is the empty listen_addresses: no TCP).
  const settings: Record<string, string> = {
    listen_addresses: "''",
    unix_socket_directories: `'${socketDir}'`,
    unix_socket_permissions: "0700",
    ...disposableSettings,
    ...extra,
  };
  const settingOptions = Object.entries(settings)
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(" ");
  // No TCP port is bound, so nothing can take this one: it only gives the socket file a distinct name.
  const port = await freePort();
  const log = serverLogOf(home);
  running.set(dir, record);
  socketDirs.add(socketDir);
  const wait = options.wait ?? true;
  const started = await context.runner.run(
    join(binaries.binDir, "pg_ctl"),
    [
      "start",
      "-D",
      dataDir,
      wait ? "-w" : "-W",
      "-t",
      "60",
      "-s",
      "-l",
      log,
      "-o",
      `-p ${port} ${settingOptions}`,
    ],
    asServer,
  );
  context.signal?.throwIfAborted();
  if (!started.ok) {
    const tail = await serverLogTail(home);
    throw startFailure(`pg_ctl start failed: ${started.stderr.trim()}${tail ? `\n${tail}` : ""}`);
  }
  context.log.debug(
    `started a throwaway PostgreSQL ${binaries.major} cluster in ${dir}, listening on its unix socket only`,
  );
  const user = home.user?.name;
  const keep = (database: string) => {
    running.delete(dir); // the exit hook no longer stops it
    homes.delete(dir);
    const as = user ? `runuser -u ${user} -- ` : "";
    return (
      `throwaway PostgreSQL ${binaries.major} cluster in ${dir}, still running: ` +
      `psql -h ${socketDir} -p ${port} -U postgres ${database}; remove it with: ` +
      `${as}${join(binaries.binDir, "pg_ctl")} stop -D ${dataDir} -m immediate && rm -rf ${dir}`
    );
  };
  return { port, dir, socketDir, major: binaries.major, stop: home.remove, keep };
}

export function serverLogOf(home: Pick<ClusterHome, "dir">): string {
  return join(home.dir, "server.log");
}

/** The last lines of a throwaway server's log, for error messages. */
export async function serverLogTail(home: Pick<ClusterHome, "dir">, lines = 5): Promise<string> {
  const serverLog = await readFile(serverLogOf(home), "utf8").catch(() => "");
  return serverLog.trim().split("\n").slice(-lines).join("\n");
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
    homes.delete(cluster.dir);
    socketDirs.delete(cluster.socketDir);
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
