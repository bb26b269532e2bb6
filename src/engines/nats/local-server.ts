// A throwaway `nats-server -js` on this host: for drills (scratch targets)
// and for measuring a snapshot taken while its stream was busy (capture.ts).
// It listens on 127.0.0.1 on a free port, keeps its store in a fresh 0700
// directory under the system temp dir, and admits only a random token that
// never leaves this process (config file 0600; connection.ts finds it by
// address). It holds a copy of production data, so nobody else may log in.
// A server still running when the process exits is killed and its directory
// removed by an exit hook, unless keep() disarmed it.

import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect as connectTcp } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { LifeboatError } from "../../errors.ts";
import { findExecutable } from "../../runtime/executables.ts";
import { freePort } from "../../runtime/free-port.ts";
import { registerSecret } from "../../runtime/redact.ts";
import type { EngineContext } from "../engine.ts";

export interface LocalNatsServer {
  readonly url: string;
  readonly address: string;
  readonly dir: string;
  readonly binary: string;
  /** Stop the server and delete its directory. Safe to call twice. */
  stop(): Promise<void>;
  /** Leave it running after this process exits; returns how to reach and remove it. */
  keep(): string;
}

/** Tokens of this process's throwaway servers, by host:port (connection.ts logs in with them). */
const tokens = new Map<string, string>();
const running = new Map<string, { child: ChildProcess; dir: string }>();
let exitHookInstalled = false;

export function throwawayToken(address: string): string | undefined {
  return tokens.get(address);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const { child, dir } of running.values()) {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

export async function findNatsServer(): Promise<string> {
  const binary = await findExecutable("nats-server", ["/usr/sbin", "/usr/local/sbin", "/usr/local/bin"]);
  if (!binary) {
    throw new LifeboatError(
      "TOOL_NOT_FOUND",
      "no nats-server binary on this host (looked in PATH and /usr/sbin)",
      {
        hint: "Install nats-server (Debian: apt-get install nats-server) so Lifeboat can start a throwaway JetStream server.",
      },
    );
  }
  return binary;
}

function waitForListener(
  port: number,
  child: ChildProcess,
  log: () => string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(
          new Error(
            `nats-server exited (${child.exitCode ?? child.signalCode}): ${log().trim().slice(-800)}`,
          ),
        );
        return;
      }
      const socket = connectTcp(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline)
          reject(new Error(`nats-server did not listen within ${timeoutMs / 1000}s`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export async function startLocalNatsServer(label: string, context: EngineContext): Promise<LocalNatsServer> {
  const binary = await findNatsServer();
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), "lifeboat-nats-"));
  const token = randomBytes(24).toString("hex");
  registerSecret(token);
  const name = `lifeboat-${label.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 60)}`;
  let lastError: unknown;
  // A free port can be taken between asking and binding: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const config = join(dir, "server.conf");
    const logFile = join(dir, "server.log");
    await writeFile(
      config,
      [
        `listen: "${address}"`,
        `server_name: ${JSON.stringify(name)}`,
        `jetstream { store_dir: ${JSON.stringify(join(dir, "store"))} }`,
        `authorization { token: ${JSON.stringify(token)} }`,
        // Its own log file: a kept server must not die writing to our closed stderr pipe.
        `log_file: ${JSON.stringify(logFile)}`,
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    const started = context.runner.start(binary, ["-c", config]);
    started.stdout.resume();
    const log = () => {
      try {
        return readFileSync(logFile, "utf8").slice(-800);
      } catch {
        return ""; // not written yet
      }
    };
    running.set(dir, { child: started.child, dir });
    try {
      await waitForListener(port, started.child, log);
    } catch (error) {
      lastError = error;
      running.delete(dir);
      started.child.kill("SIGKILL");
      await started.done;
      continue;
    }
    tokens.set(address, token);
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        running.delete(dir);
        if (started.child.exitCode === null && started.child.signalCode === null) {
          started.child.kill("SIGTERM");
          const killer = setTimeout(() => started.child.kill("SIGKILL"), 5000);
          await started.done;
          clearTimeout(killer);
        }
        tokens.delete(address);
        await rm(dir, { recursive: true, force: true });
      })());
    const keep = () => {
      running.delete(dir);
      return (
        `throwaway nats-server (pid ${started.child.pid}) at nats://${address}, store in ${dir}, ` +
        `token in ${config}; remove it with: kill ${started.child.pid} && rm -rf ${dir}`
      );
    };
    context.log.debug(`started a throwaway nats-server at ${address} in ${dir}`);
    return { url: `nats://${address}`, address, dir, binary, stop, keep };
  }
  await rm(dir, { recursive: true, force: true });
  throw new LifeboatError(
    "TARGET_UNREACHABLE",
    `could not start a throwaway nats-server (${binary}): ${(lastError as Error).message}`,
    {
      hint: "Check the message (disk space in the temp dir, the binary), or run nats-server by hand to see why.",
    },
  );
}
