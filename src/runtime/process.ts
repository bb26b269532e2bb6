// Running the services' own tools (pg_dump, pg_restore, psql, ...). A run is a
// result object, not a thrown string (execa's lesson): the caller decides what
// a non-zero exit means. Secrets travel in `env`, never in `args`, and the
// runner refuses argument lists that look like they carry a password.
// A child never inherits Lifeboat's environment: it gets the allow-list of
// ./child-env.ts plus exactly the `env` its caller passes.

import { spawn, type ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { LifeboatError } from "../errors.ts";
import { childEnvironment } from "./child-env.ts";
import { redact, redactCredentialPatterns } from "./redact.ts";

export interface RunOptions {
  /** Added to the allow-listed base environment (child-env.ts); Lifeboat's own environment is never passed. */
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  /** Data written to the child's stdin (then closed). */
  readonly stdin?: Readable | string;
  /** Where stdout goes; by default it is collected into the result. */
  readonly stdout?: Writable;
  readonly signal?: AbortSignal;
  /**
   * Run as this system user (via runuser); used for PostgreSQL server binaries when Lifeboat runs as root.
   * runuser passes the environment it gets on (resetting HOME, SHELL, USER, LOGNAME): the same allow-list.
   */
  readonly user?: string;
}

export interface RunResult {
  readonly command: string;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  /** The last 64 KiB of stderr: enough to quote in an error. */
  readonly stderr: string;
  readonly ok: boolean;
}

export interface ProcessRunner {
  run(command: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Start a long-running child whose stdout the caller streams; `done` settles when it exits. */
  start(
    command: string,
    args: readonly string[],
    options?: RunOptions,
  ): { child: ChildProcess; stdout: Readable; done: Promise<RunResult> };
}

const stderrLimit = 64 * 1024;

// By pattern only: a registered secret may be a short common word ("data"),
// which must not make Lifeboat refuse `-D .../data`.
function assertNoSecretInArgs(args: readonly string[]): void {
  for (const arg of args) {
    if (redactCredentialPatterns(arg) !== arg || /^--?password=/i.test(arg)) {
      throw new LifeboatError("INTERNAL", "refusing to pass a password on a command line", {
        details: { argument: redact(arg) },
      });
    }
  }
}

function spawnChild(command: string, args: readonly string[], options: RunOptions) {
  assertNoSecretInArgs(args);
  const [file, argv] = options.user
    ? ["runuser", ["-u", options.user, "--", command, ...args]]
    : [command, [...args]];
  const child = spawn(file, argv, {
    cwd: options.cwd,
    env: childEnvironment(options.env),
    stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    signal: options.signal,
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => {
    stderr = (stderr + text).slice(-stderrLimit);
  });
  if (options.stdin !== undefined && child.stdin) {
    if (typeof options.stdin === "string") child.stdin.end(options.stdin);
    else options.stdin.pipe(child.stdin);
    child.stdin.on("error", () => {}); // the child may exit before reading all input; its exit code tells
  }
  const done = new Promise<RunResult>((resolve) => {
    let spawnError: Error | undefined;
    child.on("error", (error) => {
      spawnError = error;
    });
    child.on("close", (exitCode, signal) => {
      if (spawnError && (spawnError as NodeJS.ErrnoException).code === "ENOENT") {
        stderr += `${command}: command not found`;
      } else if (spawnError) {
        stderr += spawnError.message;
      }
      resolve({ command, args, exitCode, signal, stdout: "", stderr, ok: exitCode === 0 && !spawnError });
    });
  });
  return { child, done };
}

export const processRunner: ProcessRunner = {
  async run(command, args, options = {}) {
    const { child, done } = spawnChild(command, args, options);
    const chunks: Buffer[] = [];
    if (options.stdout) child.stdout?.pipe(options.stdout);
    else child.stdout?.on("data", (chunk: Buffer) => chunks.push(chunk));
    const result = await done;
    return { ...result, stdout: Buffer.concat(chunks).toString("utf8") };
  },
  start(command, args, options = {}) {
    const { child, done } = spawnChild(command, args, options);
    if (!child.stdout) throw new LifeboatError("INTERNAL", "child process has no stdout");
    return { child, stdout: child.stdout, done };
  },
};

/** Turn a failed run into the error a user sees: which tool, its exit status and the tail of its stderr. */
export function toolFailure(result: RunResult, what: string): LifeboatError {
  const notFound = result.stderr.includes("command not found");
  const status = result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`;
  const tail = redact(result.stderr.trim().split("\n").slice(-8).join("\n"));
  return new LifeboatError(
    notFound ? "TOOL_NOT_FOUND" : "SOURCE_TOOL_FAILED",
    `${what}: ${result.command} failed (${status})${tail ? `:\n${tail}` : ""}`,
    { details: { command: result.command, exitCode: result.exitCode, signal: result.signal } },
  );
}
