// A throwaway Redis master, one replica and three sentinels (quorum 2) for
// scenario drills that kill the master and watch the sentinels fail over.
// Everything listens on 127.0.0.1 free ports with its files in one temp dir;
// timeouts are short (down after 1 s, failover timeout 5 s) so a failover
// takes a few seconds.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@redis/client";
import { startRedis, type TestRedis } from "./redis-server.ts";
import { freePort } from "./services.ts";

export const sentinelMasterName = "lifeboat";

export interface SentinelSet {
  readonly master: { readonly port: number; readonly url: string };
  readonly replica: { readonly port: number; readonly url: string };
  readonly sentinels: readonly { readonly port: number }[];
  readonly masterName: typeof sentinelMasterName;
  /** The initial master's pid file (written by redis-server itself). */
  readonly masterPidFile: string;
  /** Shell command line that SIGKILLs the initial master through its pid file. */
  readonly killMasterCommand: string;
  /** The master the sentinels currently name (asks each sentinel until one answers). */
  currentMaster(): Promise<{ host: string; port: number }>;
  /** Stop every process and remove the temp dir; safe to call twice. */
  stop(): Promise<void>;
}

// Sentinels still running when the test process exits (a failed `before`)
// are killed so none outlives its test file; kill() is synchronous.
const sentinelChildren = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of sentinelChildren) child.kill("SIGKILL");
});

function sentinelClient(port: number) {
  const client = createClient({ RESP: 2, socket: { host: "127.0.0.1", port, reconnectStrategy: false } });
  client.on("error", () => undefined);
  return client;
}

/** Send one command to a sentinel on a fresh connection. */
async function askSentinel(port: number, command: string[]): Promise<unknown> {
  const client = sentinelClient(port);
  try {
    await client.connect();
    return await client.sendCommand(command);
  } finally {
    client.destroy();
  }
}

export async function startSentinelSet(): Promise<SentinelSet> {
  const baseDir = await mkdtemp(join(tmpdir(), "lifeboat-test-sentinel-"));
  const masterDir = join(baseDir, "master");
  const replicaDir = join(baseDir, "replica");
  await Promise.all([mkdir(masterDir), mkdir(replicaDir)]);
  const masterPidFile = join(masterDir, "redis.pid");
  const common = ["--repl-diskless-sync-delay", "0", "--repl-diskless-sync", "yes"];

  const servers: TestRedis[] = [];
  const sentinels: { port: number; child: ChildProcess }[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(sentinels.map(({ child }) => killAndWait(child)));
    await Promise.all(servers.map((server) => server.stop()));
    await rm(baseDir, { recursive: true, force: true });
  };

  try {
    const master = await startRedis({ dir: masterDir, args: [...common, "--pidfile", masterPidFile] });
    servers.push(master);
    const replica = await startRedis({
      dir: replicaDir,
      args: [
        ...common,
        "--pidfile",
        join(replicaDir, "redis.pid"),
        "--replicaof",
        "127.0.0.1",
        String(master.port),
      ],
    });
    servers.push(replica);
    const replicaClient = await replica.client();
    await waitFor(async () => {
      const info = String(await replicaClient.sendCommand(["INFO", "replication"]));
      return /master_link_status:up/.test(info);
    }, "the replica to sync from the master");

    for (let index = 0; index < 3; index++) {
      sentinels.push(await startSentinel(baseDir, index, master.port));
    }
    // Sentinels find each other and the replica through the master's hello
    // channel; a failover before that would not reach the quorum.
    await waitFor(async () => {
      for (const { port } of sentinels) {
        const peers = (await askSentinel(port, ["SENTINEL", "sentinels", sentinelMasterName])) as unknown[];
        const replicas = (await askSentinel(port, ["SENTINEL", "replicas", sentinelMasterName])) as unknown[];
        if (peers.length < 2 || replicas.length < 1) return false;
      }
      return true;
    }, "the sentinels to see each other and the replica");

    const currentMaster = async () => {
      let lastError: unknown;
      for (const { port } of sentinels) {
        try {
          const reply = (await askSentinel(port, [
            "SENTINEL",
            "get-master-addr-by-name",
            sentinelMasterName,
          ])) as string[];
          return { host: reply[0]!, port: Number(reply[1]) };
        } catch (error) {
          lastError = error;
        }
      }
      throw new Error("no sentinel answered", { cause: lastError });
    };

    return {
      master: { port: master.port, url: master.url },
      replica: { port: replica.port, url: replica.url },
      sentinels: sentinels.map(({ port }) => ({ port })),
      masterName: sentinelMasterName,
      masterPidFile,
      killMasterCommand: `kill -9 "$(cat '${masterPidFile}')"`,
      currentMaster,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startSentinel(
  baseDir: string,
  index: number,
  masterPort: number,
): Promise<{ port: number; child: ChildProcess }> {
  const dir = join(baseDir, `sentinel-${index}`);
  await mkdir(dir);
  // Another process may take the port before the sentinel binds; retry.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    // Sentinel rewrites its config file (state, peers), so it gets its own writable copy.
    const configFile = join(dir, "sentinel.conf");
    await writeFile(
      configFile,
      [
        `port ${port}`,
        "bind 127.0.0.1",
        "daemonize no",
        `dir ${dir}`,
        `logfile ${join(dir, "sentinel.log")}`,
        `pidfile ${join(dir, "sentinel.pid")}`,
        `sentinel monitor ${sentinelMasterName} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${sentinelMasterName} 1000`,
        `sentinel failover-timeout ${sentinelMasterName} 5000`,
        `sentinel parallel-syncs ${sentinelMasterName} 1`,
        "",
      ].join("\n"),
    );
    const child = spawn("redis-server", [configFile, "--sentinel"], { stdio: "ignore" });
    sentinelChildren.add(child);
    child.once("exit", () => sentinelChildren.delete(child));
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`redis-sentinel exited with ${child.exitCode}`);
          return (await askSentinel(port, ["PING"])) === "PONG";
        },
        `sentinel ${index} to answer on port ${port}`,
        10_000,
      );
      return { port, child };
    } catch (error) {
      await killAndWait(child);
      if (attempt >= 3) throw error;
    }
  }
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

/** Poll `check` every 100 ms until it is true; fail after `timeoutMs`. */
async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`, { cause: lastError });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
