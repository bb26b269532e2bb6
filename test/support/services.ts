// Long-running processes a test starts and stops: `lifeboat serve`, a real
// Prometheus and a real Pushgateway (Debian packages), each on a free port.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliPath } from "./cli.ts";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Service {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Poll `url` until it answers (any HTTP status), or fail after `timeoutMs` with the process's output. */
async function waitForHttp(url: string, child: ChildProcess, output: () => string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`exited with ${child.exitCode} before answering:\n${output()}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms:\n${output()}`);
}

function start(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
): Service & { ready: (url: string) => Promise<void> } {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout!.on("data", (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const output = () => text;
  return {
    url: "",
    child,
    output,
    ready: (url) => waitForHttp(url, child, output),
    stop: (signal = "SIGTERM") =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once("exit", (code) => resolve(code));
        child.kill(signal);
      }),
  };
}

/** `lifeboat serve` of a workspace's config, on a free port. */
export async function startServe(
  configFile: string,
  env: Record<string, string>,
  extraArgs: readonly string[] = [],
): Promise<Service> {
  const port = await freePort();
  const service = start(
    process.execPath,
    [cliPath, "-c", configFile, "serve", "--listen", `127.0.0.1:${port}`, ...extraArgs],
    env,
  );
  const url = `http://127.0.0.1:${port}`;
  await service.ready(`${url}/readyz`);
  return { ...service, url };
}

/** A real Prometheus scraping `targets` (host:port) every second, with its own throwaway storage. */
export async function startPrometheus(
  targets: readonly string[],
  extraConfig = "",
): Promise<Service & { cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "lifeboat-prometheus-"));
  const port = await freePort();
  const config = join(dir, "prometheus.yml");
  await writeFile(
    config,
    `global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: lifeboat
    static_configs: [{ targets: ${JSON.stringify(targets)} }]
${extraConfig}`,
  );
  const service = start(
    "/usr/bin/prometheus",
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    {},
  );
  const url = `http://127.0.0.1:${port}`;
  await service.ready(`${url}/-/ready`);
  return {
    ...service,
    url,
    cleanup: async () => {
      await service.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A real Pushgateway on a free port (it keeps what it receives in memory). */
export async function startPushgateway(): Promise<Service> {
  const port = await freePort();
  const service = start("/usr/bin/prometheus-pushgateway", [`--web.listen-address=127.0.0.1:${port}`], {});
  const url = `http://127.0.0.1:${port}`;
  await service.ready(`${url}/-/ready`);
  return { ...service, url };
}

/** Run a Prometheus instant query until `accept` likes the result, or fail after `timeoutMs`. */
export async function queryUntil<T>(
  prometheus: string,
  query: string,
  accept: (result: { metric: Record<string, string>; value: [number, string] }[]) => T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const response = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(query)}`);
    const text = await response.text();
    last = `HTTP ${response.status}: ${text.slice(0, 500)}`;
    // A Prometheus still starting (or busy) answers 503 "Service Unavailable": ask again.
    if (response.ok) {
      const body = JSON.parse(text) as { data?: { result?: [] } };
      const accepted = accept(body.data?.result ?? []);
      if (accepted !== undefined) return accepted;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`query ${query} never gave the expected result; last: ${JSON.stringify(last)}`);
}
