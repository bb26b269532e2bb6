// Which modules a lifeboat command loads: runs it under record-modules.ts and
// returns the resolved URLs, so a test can prove `--help` and `--version` stay
// light (lazy-loaded commands) without timing anything.

import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const recorder = new URL("./record-modules.ts", import.meta.url).href;

/** What a command needs, never `--help`/`--version`: the heavy packages and Lifeboat's own layers. */
export const heavyModules: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  ...["pg", "zod", "yaml", "tar", "cli-progress"].map((name) => ({
    name,
    pattern: new RegExp(`/node_modules/${name}/`),
  })),
  ...["repository", "engines", "storage", "config", "operations", "drill", "cli/commands"].map((layer) => ({
    name: `lifeboat ${layer}/`,
    pattern: new RegExp(`/(src|dist)/${layer}/`),
  })),
  { name: "lifeboat cli/session", pattern: /\/(src|dist)\/cli\/session\.(ts|js)$/ },
];

export interface Trace {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Every module URL the process resolved, node: built-ins included. */
  readonly modules: readonly string[];
}

/** Run `node <entry> ...args` (entry: bin/lifeboat.js, src/cli/main.ts, an installed bin) and trace it. */
export async function traceCommand(
  entry: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Trace> {
  const dir = await mkdtemp(join(tmpdir(), "lifeboat-module-trace-"));
  try {
    const traceFile = join(dir, "modules.txt");
    const { code, stdout, stderr } = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", recorder, entry, ...args], {
        cwd: dir,
        env: { ...env, LIFEBOAT_MODULE_TRACE: traceFile },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.setEncoding("utf8").on("data", (text: string) => (out += text));
      child.stderr.setEncoding("utf8").on("data", (text: string) => (err += text));
      child.once("error", reject);
      child.once("close", (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
    });
    const modules = (await readFile(traceFile, "utf8")).split("\n").filter(Boolean);
    return { code, stdout, stderr, modules };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The names from heavyModules that the trace loaded. */
export function heavyModulesLoaded(trace: Trace): string[] {
  return heavyModules
    .filter(({ pattern }) => trace.modules.some((url) => pattern.test(url)))
    .map(({ name }) => name);
}
