// restore --notify: a real restore (one source, or --group) told to the
// notify targets as it runs. RestoreNotice gathers what the start message says
// (snapshot, size, redacted target, objective, the RTO the drill history
// predicts) once the repository is open, feeds the restore's progress to a
// RestoreNotifier beside the progress bar, and posts the end once the
// restore, hooks and readiness are over, or it failed, or SIGTERM stopped it.
// Nothing here changes the outcome: results and errors pass through untouched.

import { randomBytes } from "node:crypto";
import type { Bundle } from "../domain/bundle.ts";
import type { Readiness } from "../domain/readiness.ts";
import { isDrillReport } from "../domain/drill-report.ts";
import { parseDuration } from "../domain/duration.ts";
import { totalSize } from "../domain/snapshot.ts";
import type { Config } from "../engines/config.ts";
import { isLifeboatError, LifeboatError } from "../errors.ts";
import { RestoreNotifier } from "../notify/restore-notifier.ts";
import type { RestoreEndFacts, RestoreStartFacts } from "../notify/restore-messages.ts";
import type { OperationContext, ProgressSink } from "../operations/context.ts";
import type { GroupRestoreResult } from "../operations/group-restore.ts";
import { wantsReadiness } from "../operations/readiness.ts";
import { predictRestore } from "../plan/restore-progress.ts";
import { redact } from "../runtime/redact.ts";
import { lifeboatVersion } from "../version.ts";
import {
  DEFAULT_NOTIFY_TIMEOUT_SECONDS,
  INTERRUPTED_END_BUDGET_MS,
  interval,
  restoreNotifyTargets,
  timeoutMs,
  type RestoreNotifyFlags,
} from "./restore-notify-targets.ts";
import type { CommandEnv } from "./session.ts";

/** The ids and bytes of what is about to be restored; never fails (the restore names what is missing). */
async function findQuietly(context: OperationContext, selector: string, source: string) {
  try {
    return await context.repository.findSnapshot(selector, source);
  } catch {
    return undefined;
  }
}

interface Subject extends Pick<
  RestoreStartFacts,
  "source" | "group" | "snapshot" | "target" | "totalBytes" | "partial"
> {
  /** Whose drill history and objective count: the source, or each member of the group. */
  readonly members: readonly { readonly source: string; readonly bytes: number | null }[];
}

type EndSummary = Pick<RestoreEndFacts, "outcome" | "verified" | "restored" | "readiness" | "error">;

/**
 * One restore's notifications. Without --notify (or a dry run) every method
 * passes through and sends nothing. Messages begin once the repository is
 * open and locked: a restore refused before that (a production target without
 * --confirm, a held lock) never started and sends nothing.
 */
export class RestoreNotice {
  readonly #env: CommandEnv;
  readonly #flags: RestoreNotifyFlags & { readonly dryRun?: boolean };
  #notifier: RestoreNotifier | undefined;
  #timeoutMs = DEFAULT_NOTIFY_TIMEOUT_SECONDS * 1000;
  #ended = false;

  constructor(env: CommandEnv, flags: RestoreNotifyFlags & { readonly dryRun?: boolean }) {
    this.#env = env;
    this.#flags = flags;
    // Bad flags fail before anything is restored.
    if (flags.notify) {
      this.#timeoutMs = timeoutMs(flags);
      if (flags.notifyInterval !== undefined) interval("--notify-interval", flags.notifyInterval);
    }
  }

  /** `restore SOURCE`: post the start; the returned context reports progress to the bar and the targets. */
  async begin(
    context: OperationContext,
    config: Config,
    request: { source: string; selector: string; target: string; partial: boolean },
  ): Promise<OperationContext> {
    const target = redact(request.target);
    const notifier = await this.#start(context, config, async () => {
      const snapshot = await findQuietly(context, request.selector, request.source);
      return {
        source: request.source,
        group: false,
        snapshot: snapshot?.id ?? null,
        target,
        totalBytes: snapshot && !request.partial ? totalSize(snapshot) : null,
        partial: request.partial,
        members: [{ source: request.source, bytes: snapshot ? totalSize(snapshot) : null }],
      };
    });
    if (!notifier) return context;
    const source = config.sources[request.source];
    const sink = notifier.sink(request.source, afterDataOf(source));
    return { ...context, progress: both(context.progress, sink) };
  }

  /** `restore --group`: post the start; each member's restore reports to its own sink. */
  async beginGroup(
    context: OperationContext,
    config: Config,
    request: { group: string; bundle: Bundle; targets: ReadonlyMap<string, string> },
  ): Promise<((member: string) => ProgressSink) | undefined> {
    const notifier = await this.#start(context, config, async () => {
      const members = await Promise.all(
        request.bundle.members.map(async (member) => {
          const snapshot = await findQuietly(context, member.snapshot, member.source);
          return { source: member.source, bytes: snapshot ? totalSize(snapshot) : null };
        }),
      );
      const sizes = members.map((member) => member.bytes);
      return {
        source: request.group,
        group: true,
        snapshot: request.bundle.id,
        target: [...request.targets].map(([member, target]) => `${member}=${redact(target)}`).join(", "),
        totalBytes: sizes.every((size) => size !== null) ? sizes.reduce<number>((a, b) => a + b!, 0) : null,
        partial: false,
        members,
      };
    });
    return notifier ? (member) => notifier.sink(member, afterDataOf(config.sources[member])) : undefined;
  }

  /** The restore (and its hooks and readiness) succeeded: post the end. */
  async restored(what: {
    readonly source: string;
    readonly snapshot: string;
    readonly target: string;
    readonly partial?: boolean;
    readonly verified: boolean;
    readonly readiness?: Readiness | undefined;
  }): Promise<void> {
    const line = `snapshot ${what.snapshot.slice(0, 12)} of ${what.source}${what.partial ? " (partial)" : ""} into ${redact(what.target)}`;
    await this.#end(
      {
        outcome: "restored",
        verified: what.verified,
        restored: line,
        readiness: what.readiness ?? null,
        error: null,
      },
      this.#timeoutMs,
    );
  }

  /** A group restore ended with some members failed: post the end naming them. */
  async groupEnded(outcome: GroupRestoreResult): Promise<void> {
    const failed = outcome.failures;
    const readiness = outcome.members.map((member) => readinessOf(member.result));
    await this.#end(
      {
        outcome: failed.length > 0 ? "failed" : "restored",
        verified: failed.length === 0 && outcome.members.every((member) => member.result.verified),
        restored: outcome.members.map(({ source }) => source).join(", ") || null,
        readiness: readiness.some((value) => value !== null)
          ? Object.fromEntries(outcome.members.map((member, index) => [member.source, readiness[index]]))
          : null,
        error: failed[0]
          ? {
              code: failed[0].error.code,
              message: redact(
                `${failed.length} of ${outcome.bundle.members.length} member restores failed: ` +
                  failed.map((failure) => `${failure.source}: ${failure.error.message}`).join("; "),
              ),
            }
          : null,
      },
      this.#timeoutMs,
    );
  }

  /** Run the command; a failure or SIGTERM after the start posts the end saying so, then passes on. */
  async during<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      const interrupted = this.#env.signal.aborted || isLifeboatError(error, "INTERRUPTED");
      const failure = isLifeboatError(error) ? error : new LifeboatError("INTERNAL", String(error));
      await this.#end(
        {
          outcome: interrupted ? "interrupted" : "failed",
          verified: false,
          restored: null,
          // SERVICE_NOT_READY: the data is restored, the service is not; the readiness says why.
          readiness: failure.details.readiness ?? null,
          error: { code: interrupted ? "INTERRUPTED" : failure.code, message: redact(failure.message) },
        },
        interrupted ? Math.min(INTERRUPTED_END_BUDGET_MS, this.#timeoutMs) : this.#timeoutMs,
      );
      throw error;
    }
  }

  async #start(
    context: OperationContext,
    config: Config,
    subject: () => Promise<Subject>,
  ): Promise<RestoreNotifier | undefined> {
    if (!this.#flags.notify || this.#flags.dryRun || this.#notifier) return undefined;
    const { targets, problems } = restoreNotifyTargets(config, this.#flags);
    for (const problem of problems) this.#env.log.warn(problem);
    if (targets.length === 0) {
      this.#env.log.warn(
        "--notify: lifeboat.yaml declares no notify: targets; the restore runs without notifications",
      );
      return undefined;
    }
    const facts = await startFacts(context, config, context.now(), await subject());
    this.#notifier = new RestoreNotifier({
      targets,
      facts,
      log: this.#env.log,
      timeoutMs: this.#timeoutMs,
      version: lifeboatVersion,
      signal: this.#env.signal,
    });
    this.#notifier.begin();
    const every = [...new Set(targets.map((target) => `${target.intervalSeconds}s`))].join("/");
    this.#env.log.info(`restore progress goes to ${targets.length} notify target(s) every ${every}`);
    return this.#notifier;
  }

  async #end(summary: EndSummary, budgetMs: number): Promise<void> {
    if (!this.#notifier || this.#ended) return;
    this.#ended = true;
    await this.#notifier.finish(summary, budgetMs);
  }
}

/** What a source's restore does after its data: hooks and readiness, when it declares them. */
function afterDataOf(source: Config["sources"][string] | undefined): string {
  return source && wantsReadiness(source) ? "after_restore hooks and readiness" : "finishing";
}

async function startFacts(
  context: OperationContext,
  config: Config,
  startedAt: Date,
  subject: Subject,
): Promise<RestoreStartFacts> {
  const drills = await context.repository
    .listDrillReports()
    .then((reports) => reports.filter(isDrillReport))
    .catch(() => []);
  // A group is restored when its slowest member is: the longest prediction, the tightest objective.
  const predictions = subject.members.map((member) => predictRestore(drills, member.source, member.bytes));
  const prediction = predictions.every((p) => p !== null)
    ? (predictions.sort((a, b) => b!.seconds - a!.seconds)[0] ?? null)
    : null;
  const objectives = subject.members
    .map((member) => config.sources[member.source]?.objectives?.rto)
    .filter((rto): rto is string => rto !== undefined)
    .map(parseDuration);
  return {
    restore: `${startedAt.toISOString().replace(/[-:.]/g, "")}-${randomBytes(3).toString("hex")}`,
    startedAt: startedAt.toISOString(),
    host: context.hostname,
    source: subject.source,
    group: subject.group,
    snapshot: subject.snapshot,
    target: subject.target,
    totalBytes: subject.totalBytes,
    partial: subject.partial,
    rtoObjectiveSeconds: objectives.length > 0 ? Math.min(...objectives) : null,
    prediction,
  };
}

/** The progress bar and the notifier, fed the same bytes and phases. */
function both(first: ProgressSink, second: ProgressSink): ProgressSink {
  return {
    start: (label, total) => {
      first.start(label, total);
      second.start(label, total);
    },
    advance: (bytes) => {
      first.advance(bytes);
      second.advance(bytes);
    },
    stop: () => {
      first.stop();
      second.stop();
    },
    phase: (name) => {
      first.phase?.(name);
      second.phase?.(name);
    },
  };
}

/** A readiness the restore result carries, whatever its engine; null without one. */
function readinessOf(result: object | undefined): unknown {
  return result && "readiness" in result ? (result.readiness ?? null) : null;
}
