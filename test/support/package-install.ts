// Pack Lifeboat as `npm publish` would and install the tarball into an empty
// prefix, as a user's `npm install lifeboat` does. Used by test/package.test.ts
// and bench/startup.ts.
//
// The checkout is copied first and packed from the copy: `npm pack` runs the
// prepack build, and building into the copy's dist/ keeps the checkout
// untouched, so parallel tests and other packs never race on one dist/.

import { spawn } from "node:child_process";
import { cp, mkdir, symlink } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const checkout = fileURLToPath(new URL("../..", import.meta.url));

/** Not part of a pack: installed or generated things, caches, the VCS. */
const notCopied = new Set(["node_modules", ".git", ".tools", "dist", "tmp", join("bench", "out")]);

function copied(path: string): boolean {
  const parts = path.split(sep);
  return !notCopied.has(parts[0] ?? "") && !notCopied.has(parts.slice(0, 2).join(sep));
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface InstalledPackage {
  /** The .tgz `npm pack` wrote. */
  readonly tarball: string;
  /** Every path in the tarball, relative to the package root (e.g. "dist/cli/main.js"). */
  readonly files: readonly string[];
  /** The empty prefix it was installed into. */
  readonly prefix: string;
  /** `<prefix>/node_modules/.bin/lifeboat`, the command a user runs. */
  readonly bin: string;
  /** `<prefix>/node_modules/lifeboat`. */
  readonly packageDir: string;
}

/**
 * The environment for npm and the installed command: this process's Node (>= 24)
 * first on PATH, since the installed bin starts with `#!/usr/bin/env node`; none
 * of the npm_* variables an outer `npm test` sets (npm_config_prefix,
 * npm_config_local_prefix, ...: they would point npm at the checkout), but the
 * ones that say how to reach a registry.
 */
export function packageEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (keptInPackageEnv(name)) env[name] = value;
  }
  env.PATH = [dirname(process.execPath), process.env.PATH].filter(Boolean).join(":");
  env.npm_config_update_notifier = "false";
  return env;
}

const registryAccess =
  /^npm_config_(registry|cache|userconfig|https?_proxy|proxy|noproxy|cafile|strict_ssl)$/i;

function keptInPackageEnv(name: string): boolean {
  if (name === "NODE_TEST_CONTEXT") return false; // node --test's marker for its own children
  return !/^npm_/i.test(name) || registryAccess.test(name);
}

export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? packageEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    child.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "ENOENT"
          ? new Error(
              `${command} is not on PATH: packing and installing Lifeboat needs it (${error.message})`,
            )
          : error,
      ),
    );
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function runOrThrow(command: string, args: readonly string[], cwd: string): Promise<RunResult> {
  const result = await run(command, args, { cwd });
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited with ${result.code}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

/** Pack the checkout (prepack builds dist/) and install the tarball into `<workDir>/prefix`. */
export async function packAndInstall(workDir: string): Promise<InstalledPackage> {
  const copy = join(workDir, "checkout");
  await cp(checkout, copy, { recursive: true, filter: (source) => copied(relative(checkout, source)) });
  // The build needs the dev dependencies (tsc, @types); link rather than copy them.
  await symlink(join(checkout, "node_modules"), join(copy, "node_modules"), "dir");

  const packDir = join(workDir, "pack");
  await mkdir(packDir);
  const packed = await runOrThrow("npm", ["pack", "--json", "--pack-destination", packDir], copy);
  const [summary] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  if (!summary) throw new Error(`npm pack printed no package:\n${packed.stdout}`);

  const prefix = join(workDir, "prefix");
  await mkdir(prefix);
  const tarball = join(packDir, summary.filename);
  await runOrThrow(
    "npm",
    ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--prefer-offline", tarball],
    workDir,
  );
  return {
    tarball,
    files: summary.files.map((file) => file.path),
    prefix,
    bin: join(prefix, "node_modules", ".bin", "lifeboat"),
    packageDir: join(prefix, "node_modules", "lifeboat"),
  };
}
