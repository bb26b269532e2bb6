// A throwaway `nats-server -js` for engine tests: its own free port on
// 127.0.0.1 and its own store directory in a temp dir, removed on stop. A
// user/password, when asked for, goes into a config file (never argv), so the
// tests exercise credentials the way a real broker has them.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect as connectTcp } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./services.ts";

export const natsServerBinary = "/usr/sbin/nats-server";

export interface NatsTestServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  output(): string;
  /** Stop the server (SIGTERM, then SIGKILL) and delete its directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface NatsTestServerOptions {
  /** Require this user and password (written to a 0600 config file). */
  readonly auth?: { readonly user: string; readonly password: string };
  /** server_name; by default nats-server makes one up. */
  readonly name?: string;
}

function waitForPort(port: number, child: ChildProcess, output: () => string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise<void>((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) {
        reject(new Error(`nats-server exited with ${child.exitCode}:\n${output()}`));
        return;
      }
      const socket = connectTcp(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nats-server did not listen on ${port}:\n${output()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export async function startNatsServer(options: NatsTestServerOptions = {}): Promise<NatsTestServer> {
  const dir = await mkdtemp(join(tmpdir(), "lifeboat-nats-"));
  const port = await freePort();
  const storeDir = join(dir, "store");
  const config = join(dir, "server.conf");
  const lines = [
    `listen: "127.0.0.1:${port}"`,
    `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
    ...(options.name ? [`server_name: ${JSON.stringify(options.name)}`] : []),
    ...(options.auth
      ? [
          `authorization { user: ${JSON.stringify(options.auth.user)}, password: ${JSON.stringify(options.auth.password)} }`,
        ]
      : []),
  ];
  await writeFile(config, lines.join("\n") + "\n", { mode: 0o600 });
  const child = spawn(natsServerBinary, ["-c", config], { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout!.on("data", (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const output = () => text;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    })());
  try {
    await waitForPort(port, child, output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `nats://127.0.0.1:${port}`, port, storeDir, output, stop };
}
