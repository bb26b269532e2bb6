// Running one of the user's commands. Each runs as `setsid /bin/sh -c
// <command>` through the ProcessRunner (so it gets the allow-listed
// environment of runtime/child-env.ts plus exactly what we pass): setsid makes
// the shell the leader of its own process group, so a timeout, an interrupted
// backup (context.signal) or Lifeboat exiting stops everything the command
// started (`curl | gzip`, a tool's own children), not only the shell.
//
// The ProcessRunner's own `signal` option is not used: it would kill only the
// shell and leave its children writing.

import type { Readable } from "node:stream";
import { LifeboatError, type ErrorCode } from "../../errors.ts";
import type { ProcessRunner, RunResult } from "../../runtime/process.ts";
import { redact } from "../../runtime/redact.ts";

export interface CommandSpec {
  /** For messages: "capture command", "restore command into qdrant-2:6333". */
  readonly what: string;
  readonly command: string;
  /** Added to the allow-listed base environment. */
  readonly env: Readonly<Record<string, string>>;
  readonly stdin?: Readable;
  readonly timeoutSeconds: number;
  readonly signal?: AbortSignal;
}

export interface CommandOutcome {
  readonly result: RunResult;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** Its stdin could not be read to the end (it was stopped). */
  readonly inputFailed: boolean;
  readonly ok: boolean;
}

export interface RunningCommand {
  readonly stdout: Readable;
  /** The shell's pid, which is also its process group id. */
  readonly pid: number | undefined;
  readonly finished: Promise<CommandOutcome>;
  /** Stop the whole process group (SIGTERM, then SIGKILL after a grace period). Safe to call twice. */
  stop(): void;
}

/** How long a stopped command may take to exit on SIGTERM before its group gets SIGKILL. */
const graceMs = 5000;
/** setTimeout takes at most 2^31-1 ms (about 24 days). */
const longestTimer = 2 ** 31 - 1;

// Process groups still running, killed should Lifeboat exit while one runs.
const runningGroups = new Set<number>();
let exitHookInstalled = false;

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already, or setsid has not made it yet: the shell itself gets the signal below
  }
  try {
    process.kill(pid, signal);
  } catch {
    // exited
  }
}

export function startCommand(runner: ProcessRunner, spec: CommandSpec): RunningCommand {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => runningGroups.forEach((pid) => signalGroup(pid, "SIGKILL")));
  }
  spec.signal?.throwIfAborted();
  const { child, stdout, done } = runner.start("setsid", ["/bin/sh", "-c", spec.command], {
    env: spec.env,
    ...(spec.stdin ? { stdin: spec.stdin } : {}),
  });
  const pid = child.pid;
  if (pid !== undefined) runningGroups.add(pid);
  let timedOut = false;
  let aborted = false;
  let exited = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (exited || pid === undefined || killTimer) return;
    signalGroup(pid, "SIGTERM");
    killTimer = setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs);
  };
  const timer = setTimeout(
    () => {
      timedOut = true;
      stop();
    },
    Math.min(spec.timeoutSeconds * 1000, longestTimer),
  );
  const onAbort = () => {
    aborted = true;
    stop();
  };
  spec.signal?.addEventListener("abort", onAbort, { once: true });
  // pipe() does not end the child's stdin when its source fails: the command would wait for input forever.
  let inputFailed = false;
  spec.stdin?.once("error", () => {
    inputFailed = true;
    stop();
  });
  // What the shell left running in the background goes with it (and releases the output pipe).
  child.on("exit", () => {
    exited = true;
    if (pid !== undefined) signalGroup(pid, "SIGKILL");
  });
  const finished = done.then((result) => {
    clearTimeout(timer);
    clearTimeout(killTimer);
    spec.signal?.removeEventListener("abort", onAbort);
    if (pid !== undefined) runningGroups.delete(pid);
    return { result, timedOut, aborted, inputFailed, ok: result.ok && !timedOut && !aborted && !inputFailed };
  });
  return { stdout, pid, finished, stop };
}

/** Run to completion, collecting at most `limit` bytes of stdout (more is an error: facts are small). */
export async function runCollecting(
  runner: ProcessRunner,
  spec: CommandSpec,
  limit = 1024 * 1024,
): Promise<{ stdout: string; outcome: CommandOutcome }> {
  const running = startCommand(runner, spec);
  const parts: Buffer[] = [];
  let size = 0;
  let tooLong = false;
  // Leaving the loop early destroys the pipe; the command is being stopped then anyway.
  for await (const part of running.stdout as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > limit) {
      tooLong = true;
      running.stop();
      break;
    }
    parts.push(part);
  }
  const outcome = await running.finished;
  if (tooLong && !outcome.aborted) {
    throw new LifeboatError(
      "SOURCE_TOOL_FAILED",
      `${spec.what} printed more than ${limit} bytes; it should print a short answer`,
    );
  }
  return { stdout: Buffer.concat(parts).toString("utf8"), outcome };
}

/** Run to completion, discarding stdout (kept short for a debug line). */
export async function runDraining(runner: ProcessRunner, spec: CommandSpec): Promise<CommandOutcome> {
  const running = startCommand(runner, spec);
  running.stdout.resume();
  return running.finished;
}

/**
 * The error for a command that did not succeed: the signal's reason when
 * Lifeboat was interrupted, otherwise `code` with the exit status and the
 * redacted tail of stderr. Exit 127 is the shell's "command not found".
 */
export function commandFailure(
  spec: CommandSpec,
  outcome: CommandOutcome,
  code: ErrorCode,
  signal?: AbortSignal,
  /** Replaces the code's hint when it does not fit (SOURCE_TOOL_FAILED's says "no snapshot was recorded"). */
  hint?: string,
): unknown {
  if (outcome.aborted && signal?.aborted) return signal.reason;
  const { result } = outcome;
  const status = outcome.timedOut
    ? `timed out after ${spec.timeoutSeconds}s and was killed`
    : outcome.aborted
      ? "was stopped"
      : outcome.inputFailed
        ? "was stopped: its input could not be read"
        : result.signal
          ? `was killed by ${result.signal}`
          : `exited with code ${result.exitCode}`;
  const tail = redact(result.stderr.trim().split("\n").slice(-8).join("\n"));
  // 127: the shell's "command not found"; the runner's own note when setsid itself is missing.
  const notFound = result.exitCode === 127 || result.stderr.includes("setsid: command not found");
  return new LifeboatError(
    notFound ? "TOOL_NOT_FOUND" : code,
    `${spec.what} \`${redact(shorten(spec.command))}\` ${status}${tail ? `:\n${tail}` : ""}`,
    {
      details: { exitCode: result.exitCode, signal: result.signal, timedOut: outcome.timedOut },
      ...(notFound
        ? {
            hint: "A program the command runs is not installed or not on PATH (Lifeboat passes its own PATH).",
          }
        : hint
          ? { hint }
          : {}),
    },
  );
}

function shorten(command: string): string {
  const oneLine = command.replace(/\s+/g, " ");
  return oneLine.length > 120 ? `${oneLine.slice(0, 117)}...` : oneLine;
}
