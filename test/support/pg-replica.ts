// A throwaway PostgreSQL primary with one streaming standby, for scenario
// drills that kill the primary and promote the standby. The standby is a
// `pg_basebackup -R` copy of the primary; the kill and promote steps are also
// given as the exact shell command lines an operator (or a scenario in
// lifeboat.yaml) would run, and `killPrimary()` / `promote()` run those very
// lines so the tests prove them.

import { spawn } from "node:child_process";
import { join } from "node:path";
import {
  asServerUser,
  launchCluster,
  makeClusterDirs,
  pgBinDir,
  runChecked,
  startCluster,
  type PgCluster,
} from "./pg-cluster.ts";

/** The standby's application_name: what pg_stat_replication and synchronous_standby_names call it. */
export const replicaApplicationName = "lifeboat_replica";
const slotName = "lifeboat_replica";

export interface PrimaryWithReplica {
  readonly primary: PgCluster;
  readonly replica: PgCluster;
  /** The primary's postmaster.pid (first line: the postmaster's pid). */
  readonly primaryPidFile: string;
  /** Shell command line that stops the primary without a checkpoint, as a crash would. */
  readonly killPrimaryCommand: string;
  /** Shell command line that promotes the standby to a primary. */
  readonly promoteCommand: string;
  /** Run `killPrimaryCommand`. */
  killPrimary(): Promise<void>;
  /** Run `promoteCommand`, then wait until the replica is out of recovery. */
  promote(): Promise<void>;
  /** Stop both servers and remove their directories; safe to call twice. */
  stop(): Promise<void>;
}

export interface PrimaryWithReplicaOptions {
  /** Commits on the primary wait until the replica has applied them (remote_apply). */
  readonly synchronous?: boolean;
}

export async function startPrimaryWithReplica(
  options: PrimaryWithReplicaOptions = {},
): Promise<PrimaryWithReplica> {
  // pg-cluster turns synchronous_commit off for speed; a synchronous pair
  // needs it on the command line (which outranks ALTER SYSTEM), and
  // remote_apply makes a committed row readable on the replica at once.
  const primary = await startCluster({
    settings: {
      wal_level: "replica",
      ...(options.synchronous ? { synchronous_commit: "remote_apply" } : {}),
    },
  });
  let replica: PgCluster | undefined;
  const stop = async () => {
    await Promise.all([replica?.stop(), primary.stop()]);
  };
  try {
    const dirs = await makeClusterDirs();
    const conninfo = `host=127.0.0.1 port=${primary.port} user=postgres application_name=${replicaApplicationName}`;
    // -R writes standby.signal and primary_conninfo (with application_name);
    // -C -S makes a slot so the primary keeps WAL the standby has not received.
    await runChecked(
      ...asServerUser("pg_basebackup", [
        "-d",
        conninfo,
        "-D",
        dirs.dataDir,
        "-R",
        "-C",
        "-S",
        slotName,
        "-X",
        "stream",
        "--no-sync",
        "-c",
        "fast",
      ]),
    );
    replica = await launchCluster(dirs);
    await waitFor(
      async () =>
        (await primary.psql(
          `select state from pg_stat_replication where application_name = '${replicaApplicationName}'`,
        )) === "streaming",
      "the replica to stream from the primary",
    );
    if (options.synchronous) {
      // Set only now: in postgresql.auto.conf before the base backup, it would
      // be copied to the replica and make its writes hang once promoted.
      await primary.psql(`alter system set synchronous_standby_names = '"${replicaApplicationName}"'`);
      await primary.psql("select pg_reload_conf()");
      await waitFor(
        async () =>
          (await primary.psql(
            `select sync_state from pg_stat_replication where application_name = '${replicaApplicationName}'`,
          )) === "sync",
        "the replica to become synchronous",
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }

  const standby = replica;
  const pgCtl = (dataDir: string, ...args: string[]) =>
    shellLine(["runuser", "-u", "postgres", "--", join(pgBinDir, "pg_ctl"), "-D", dataDir, ...args]);
  const killPrimaryCommand = pgCtl(primary.dataDir, "-m", "immediate", "stop");
  const promoteCommand = pgCtl(standby.dataDir, "promote");

  return {
    primary,
    replica: standby,
    primaryPidFile: join(primary.dataDir, "postmaster.pid"),
    killPrimaryCommand,
    promoteCommand,
    async killPrimary() {
      await runShell(killPrimaryCommand);
    },
    async promote() {
      await runShell(promoteCommand);
      await waitFor(
        async () => (await standby.psql("select not pg_is_in_recovery()")) === "t",
        "the promoted replica to leave recovery",
      );
    },
    stop,
  };
}

/** Poll `check` every 100 ms until it is true; fail after `timeoutMs`. */
async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function shellLine(words: readonly string[]): string {
  return words
    .map((word) => (/^[\w./=:@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`))
    .join(" ");
}

function runShell(line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", line], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (output += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (output += text));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${line} failed (exit ${code}):\n${output}`)),
    );
  });
}
