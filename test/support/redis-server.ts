// Throwaway redis-server instances for tests: a free port on loopback, a
// private directory, nothing persisted unless asked, stopped after the tests.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@redis/client";
import { freePort } from "./services.ts";

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly child: ChildProcess;
  /** A connected RESP2 client (closed by stop). */
  client(): Promise<ReturnType<typeof newClient>>;
  stop(): Promise<void>;
}

function newClient(port: number, password?: string) {
  return createClient({
    RESP: 2,
    socket: { host: "127.0.0.1", port, reconnectStrategy: false },
    ...(password ? { password } : {}),
  });
}

export async function startRedis(
  options: { password?: string; args?: readonly string[]; dir?: string } = {},
): Promise<TestRedis> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "lifeboat-test-redis-")));
  const port = await freePort();
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "no",
    "--enable-debug-command",
    "yes",
    "--logfile",
    join(dir, "redis.log"),
    ...(options.password ? ["--requirepass", options.password] : []),
    ...(options.args ?? []),
  ];
  const child = spawn("redis-server", args, { stdio: "ignore" });
  const clients: ReturnType<typeof newClient>[] = [];
  const deadline = Date.now() + 15_000;
  for (;;) {
    const probe = newClient(port, options.password);
    probe.on("error", () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.destroy();
      break;
    } catch (error) {
      probe.destroy();
      if (Date.now() > deadline || child.exitCode !== null) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    child,
    async client() {
      const client = newClient(port, options.password);
      client.on("error", () => undefined);
      await client.connect();
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }
      if (!options.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
