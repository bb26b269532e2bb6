// A scenario's actions (its disruption, and a recovery that is not automatic):
// a shell command, a signal to the process a pid file names, a SQL statement
// through the engine's own client, or a Lifeboat restore (to just before the
// disruption, for point-in-time recovery). An action reports, it never throws.

import { readFile } from "node:fs/promises";
import type { ScenarioActionConfig } from "../config/scenario-schema.ts";
import { parseDuration } from "../domain/duration.ts";
import { redact } from "../runtime/redact.ts";
import { runShellCommand, shellQuote } from "../runtime/shell-command.ts";
import { engineForUrl, type ScenarioContext } from "./endpoints.ts";

export interface ActionOutcome {
  readonly ok: boolean;
  readonly detail: string;
}

/** What one scenario run changed that the run itself must undo: the ports it blocked. */
export interface RunState {
  readonly runId: string;
  /** iptables rule specifications (after the chain name) this run inserted and has not removed. */
  readonly blocked: string[][];
}

function iptables(
  args: readonly string[],
  context: ScenarioContext,
): Promise<{ ok: boolean; detail: string }> {
  const line = ["iptables", "-w", ...args].map(shellQuote).join(" ");
  return runShellCommand(line, { timeoutSeconds: 30, variables: {}, signal: context.signal });
}

/** Remove every rule the run inserted (unblock steps, and the end of every run). */
export async function unblockAll(state: RunState, context: ScenarioContext): Promise<ActionOutcome> {
  const problems: string[] = [];
  for (const rule of state.blocked.splice(0)) {
    const removed = await iptables(["-D", "INPUT", ...rule], context);
    if (!removed.ok) problems.push(removed.detail);
  }
  return problems.length === 0
    ? { ok: true, detail: "the scenario's port blocks are removed" }
    : { ok: false, detail: `removing a port block failed: ${problems.join("; ")}` };
}

export function describeAction(action: ScenarioActionConfig): string {
  if ("block" in action) return `block tcp port ${action.block.port} (${action.block.mode})`;
  if ("unblock" in action) return "unblock the ports this scenario blocked";
  if ("command" in action) return `command: ${action.command}`;
  if ("kill" in action) return `kill -${action.kill.signal} (pid in ${action.kill.pid_file})`;
  if ("sql" in action) return `sql: ${action.sql}`;
  return `restore ${action.restore.source} --to ${action.restore.to}${action.restore.before_disruption ? " (to just before the disruption)" : ""}`;
}

/** `disruptedAt`: when the disrupt step began, for a restore to just before it. */
export async function runAction(
  action: ScenarioActionConfig,
  context: ScenarioContext,
  disruptedAt: Date | undefined,
  state: RunState,
): Promise<ActionOutcome> {
  try {
    if ("block" in action) {
      const { port, mode } = action.block;
      const rule = [
        ...[
          "-p",
          "tcp",
          "--dport",
          String(port),
          "-m",
          "comment",
          "--comment",
          `lifeboat-scenario-${state.runId}`,
        ],
        ...(mode === "drop" ? ["-j", "DROP"] : ["-j", "REJECT", "--reject-with", "tcp-reset"]),
      ];
      const added = await iptables(["-I", "INPUT", ...rule], context);
      if (!added.ok)
        return {
          ok: false,
          detail: `iptables could not block port ${port} (it needs root): ${added.detail}`,
        };
      state.blocked.push(rule);
      return { ok: true, detail: `port ${port} blocked (${mode})` };
    }
    if ("unblock" in action) return await unblockAll(state, context);
    if ("command" in action) {
      const run = await runShellCommand(action.command, {
        timeoutSeconds: parseDuration(action.timeout),
        variables: {},
        signal: context.signal,
      });
      return { ok: run.ok, detail: run.detail };
    }
    if ("kill" in action) {
      const pid = Number((await readFile(action.kill.pid_file, "utf8")).split("\n")[0]?.trim());
      if (!Number.isInteger(pid) || pid <= 1)
        return { ok: false, detail: `${action.kill.pid_file} names no process` };
      process.kill(pid, `SIG${action.kill.signal}`);
      return { ok: true, detail: `sent SIG${action.kill.signal} to ${pid}` };
    }
    if ("sql" in action) {
      const engine = engineForUrl(context, action.url, "sql action");
      if (!engine.executeSql)
        return { ok: false, detail: `the ${engine.name} engine runs no SQL statements` };
      await engine.executeSql(action.url, action.sql, context.engineContext);
      return { ok: true, detail: "executed" };
    }
    const restore = action.restore;
    const args = ["restore", restore.source, "--to", restore.to, ...(restore.clean ? ["--clean"] : [])];
    if (restore.before_disruption) {
      if (!disruptedAt)
        return { ok: false, detail: "restore before the disruption, but nothing was disrupted yet" };
      // A moment before the disrupt step began: what it destroyed is not part of the restore.
      args.push("--target-time", new Date(disruptedAt.getTime() - 1).toISOString());
    }
    const run = await context.runLifeboat([...args, ...restore.args], parseDuration(action.timeout));
    return { ok: run.ok, detail: run.detail };
  } catch (error) {
    return { ok: false, detail: redact(error instanceof Error ? error.message : String(error)) };
  }
}
