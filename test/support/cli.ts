// Run the real lifeboat CLI in a child process, as a user would.

import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const cliPath = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (undefined when it is not JSON). */
  readonly json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export function runCli(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code, signal, stdout, stderr, json });
    });
  });
}

/** A scratch directory with a lifeboat.yaml; `cli()` runs commands against it. */
export async function workspace(
  configYaml: (dir: string) => string,
  password = "correct horse battery staple",
) {
  const dir = await mkdtemp(join(tmpdir(), "lifeboat-cli-test-"));
  const configFile = join(dir, "lifeboat.yaml");
  await writeFile(configFile, configYaml(dir));
  // Spools of runs a test kills go with the workspace, not into the machine's /tmp.
  await mkdir(join(dir, "tmp"));
  const env = {
    LIFEBOAT_PASSWORD: password,
    LIFEBOAT_TMPDIR: join(dir, "tmp"),
    LIFEBOAT_CACHE_DIR: join(dir, "cache"),
  };
  return {
    dir,
    configFile,
    password,
    /** What a run of this workspace's CLI needs in its environment (add to process.env). */
    env,
    cli: (args: readonly string[], extraEnv: Record<string, string> = {}) =>
      runCli(["-c", configFile, ...args], { env: { ...env, ...extraEnv } }),
    /**
     * Forget this host's local cache: the next run reads index and manifests
     * from storage, as another host would. Tests that damage a stored
     * manifest need it, since a verified cached copy would serve instead.
     */
    dropCache: () => rm(join(dir, "cache"), { recursive: true, force: true }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * A workspace whose config declares one `files` source, `uploads`, filled by
 * `fill` (given the folder), with the repository initialised.
 */
export async function uploadsWorkspace(fill: (uploads: string) => Promise<void>) {
  const ws = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  uploads: { engine: files, path: "${dir}/uploads" }
`,
  );
  await mkdir(join(ws.dir, "uploads"));
  await fill(join(ws.dir, "uploads"));
  const init = await ws.cli(["init"]);
  if (init.code !== 0) throw new Error(`lifeboat init failed: ${init.stderr}`);
  return ws;
}
