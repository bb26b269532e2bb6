// A shell command of the user's (a drill's command check, a runbook step, a
// scenario's action or probe): `sh -c` with the allow-listed base environment
// plus what the caller adds, never Lifeboat's own (runtime/child-env.ts). It
// runs in its own process group so a timeout or an interrupt kills everything
// it started, not only the shell: `sh -c 'sleep 30'` must not outlive a 1 s
// timeout. The output's last lines (and the first error line, since a tool
// that prints its usage after an error ends with the usage) say what happened.

import { spawn } from "node:child_process";
import { childEnvironment } from "./child-env.ts";

/** One word for `sh`, whatever it holds: single-quoted, a quote inside written as '\''. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

export interface ShellRun {
  readonly ok: boolean;
  /** The command could not be started at all. */
  readonly error: boolean;
  /** "exit 0", "exit 2: error: ... | ...", "killed (timeout 5s)". */
  readonly detail: string;
}

// Process groups of running commands, killed should Lifeboat exit while one runs.
const runningGroups = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // the group is gone already
  }
}

export function runShellCommand(
  command: string,
  options: {
    readonly timeoutSeconds: number;
    readonly variables: Readonly<Record<string, string>>;
    readonly signal?: AbortSignal | undefined;
  },
): Promise<ShellRun> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => runningGroups.forEach(killGroup));
  }
  const { signal } = options;
  return new Promise((resolve) => {
    const child = spawn("sh", ["-c", command], {
      env: childEnvironment(options.variables),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group (and session), so the group can be killed
    });
    const pid = child.pid;
    let stopped: string | undefined;
    const stop = (why: string) => {
      stopped ??= why;
      if (pid !== undefined) killGroup(pid);
    };
    if (pid !== undefined) runningGroups.add(pid);
    const timer = setTimeout(
      () => stop(`killed (timeout ${options.timeoutSeconds}s)`),
      options.timeoutSeconds * 1000,
    );
    const onAbort = () => stop("killed (interrupted)");
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) onAbort();
    let output = "";
    let errorLine: string | undefined;
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      errorLine ??= text.split("\n").find((line) => /\berror\b/i.test(line));
      output = (output + text).slice(-2000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const finish = (run: ShellRun) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (pid !== undefined) runningGroups.delete(pid);
      resolve(run);
    };
    // What the shell left running in the background goes with it (and releases the output pipes).
    child.on("exit", () => pid !== undefined && killGroup(pid));
    child.on("error", (error) => finish({ ok: false, error: true, detail: error.message }));
    child.on("close", (code, exitSignal) => {
      const last = output.trim().split("\n").slice(-3);
      const head = errorLine !== undefined && !last.includes(errorLine) ? [errorLine.trim(), "..."] : [];
      const tail = [...head, ...last].filter(Boolean).join(" | ");
      const status = stopped ?? (exitSignal ? `killed by ${exitSignal}` : `exit ${code}`);
      finish({ ok: code === 0 && !stopped, error: false, detail: `${status}${tail ? `: ${tail}` : ""}` });
    });
  });
}
