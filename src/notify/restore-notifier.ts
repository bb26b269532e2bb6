// The progress of a real restore, told to the incident channel while it runs
// (restore --notify): a start message, an update every interval per target,
// an end message. It is a ProgressSink, so the restore feeds it the bytes and
// phases it already reports to the progress bar.
//
// A notification must never hurt the restore it describes: every delivery
// has a timeout, a target with a delivery still in flight skips its next
// update rather than queueing it (a dead receiver costs one pending request,
// never a pile), failures are logged (once per target, then at debug level)
// and never thrown, the timers never keep the process alive, and the end
// message waits at most a given budget (short after SIGTERM).

import type { ProgressSink } from "../operations/context.ts";
import type { Logger } from "../runtime/logger.ts";
import { registerSecret } from "../runtime/redact.ts";
import { estimate, RateWindow } from "../plan/restore-progress.ts";
import {
  restoreEndBody,
  restoreProgressBody,
  restoreSlackText,
  restoreStartBody,
  type RestoreEndFacts,
  type RestoreNotificationBody,
  type RestoreProgressFacts,
  type RestoreStartFacts,
} from "./restore-messages.ts";
import { deliver } from "./send.ts";

export interface RestoreNotifyTarget {
  readonly kind: "webhook" | "slack";
  /** A credential (Slack's always, a webhook's path often): never printed. */
  readonly url: string;
  readonly intervalSeconds: number;
}

export interface RestoreNotifierOptions {
  readonly targets: readonly RestoreNotifyTarget[];
  readonly facts: RestoreStartFacts;
  readonly log: Pick<Logger, "warn" | "debug">;
  /** How long one delivery may take. */
  readonly timeoutMs: number;
  readonly version: string;
  /** The command's abort signal: SIGTERM stops the updates at once. */
  readonly signal?: AbortSignal;
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
}

interface MemberState {
  phase: string;
  done: number;
}

interface TargetState {
  readonly target: RestoreNotifyTarget;
  /** Host only: a webhook's path and a Slack URL are secrets. */
  readonly label: string;
  timer?: ReturnType<typeof setInterval>;
  inFlight?: {
    readonly kind: RestoreNotificationBody["kind"];
    readonly done: Promise<void>;
    readonly abort: AbortController;
  };
  failures: number;
  delivered: number;
}

export class RestoreNotifier {
  readonly #options: RestoreNotifierOptions;
  readonly #now: () => number;
  readonly #members = new Map<string, MemberState>();
  readonly #rate = new RateWindow();
  readonly #targets: TargetState[];
  #startedAt = 0;
  #stopped = false;

  constructor(options: RestoreNotifierOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#targets = options.targets.map((target) => {
      registerSecret(target.url);
      return { target, label: describeTarget(target), failures: 0, delivered: 0 };
    });
  }

  /** Post the start message and start each target's updates. Returns at once. */
  begin(): void {
    this.#startedAt = this.#now();
    this.#rate.add(this.#startedAt, 0);
    const start = restoreStartBody(this.#options.facts);
    for (const state of this.#targets) {
      this.#post(state, start);
      state.timer = setInterval(() => this.#tick(state), state.target.intervalSeconds * 1000);
      state.timer.unref();
    }
    this.#options.signal?.addEventListener("abort", () => this.#stopTimers(), { once: true });
  }

  /**
   * The progress sink of one restored source (the whole restore, or one
   * group member); `afterData` names what follows the data (hooks, readiness).
   */
  sink(member: string, afterData = "finishing"): ProgressSink & { phase(name: string): void } {
    // Registered at its first report: a sink handed out but never used adds no "prepare" to the phase.
    const known = () => {
      let state = this.#members.get(member);
      if (!state) this.#members.set(member, (state = { phase: "prepare", done: 0 }));
      return state;
    };
    return {
      start: () => {
        known().phase = "fetch";
      },
      advance: (bytes) => {
        known().done += bytes;
        this.#rate.add(this.#now(), this.#bytesDone());
      },
      stop: () => {
        known().phase = afterData;
      },
      phase: (name) => {
        known().phase = name;
      },
    };
  }

  /** Where the restore stands now, with the throughput and ETA. */
  progress(): RestoreProgressFacts {
    const now = this.#now();
    const elapsedSeconds = (now - this.#startedAt) / 1000;
    const bytesDone = this.#bytesDone();
    const totalBytes = this.#options.facts.totalBytes;
    const bytesPerSecond = this.#rate.rate(now);
    const eta = estimate({
      elapsedSeconds,
      bytesDone,
      totalBytes,
      bytesPerSecond,
      prediction: this.#options.facts.prediction,
    });
    return {
      at: new Date(now).toISOString(),
      elapsedSeconds,
      phase: this.#phase(),
      bytesDone,
      totalBytes,
      percent: eta.percent,
      bytesPerSecond,
      etaSeconds: eta.etaSeconds,
      etaBasis: eta.basis,
    };
  }

  /**
   * Stop the updates and post the end message, waiting at most `budgetMs`
   * in all: an update still in flight is abandoned (the end supersedes it),
   * a start still in flight may use half of it first, so the order holds
   * for a slow receiver and the end still gets its chance.
   */
  async finish(end: Omit<RestoreEndFacts, "at" | "seconds" | "bytesDone">, budgetMs: number): Promise<void> {
    this.#stopTimers();
    const deadline = this.#now() + budgetMs;
    const body = restoreEndBody(this.#options.facts, {
      ...end,
      at: new Date(this.#now()).toISOString(),
      seconds: (this.#now() - this.#startedAt) / 1000,
      bytesDone: this.#bytesDone(),
    });
    await Promise.all(
      this.#targets.map(async (state) => {
        const pending = state.inFlight;
        if (pending && pending.kind !== "restore.start")
          pending.abort.abort(new Error("superseded by the end message"));
        else if (pending) await waitAtMost(pending.done, (deadline - this.#now()) / 2);
        state.inFlight?.abort.abort(new Error("out of time for the end message"));
        const left = deadline - this.#now();
        if (left <= 0) {
          this.#options.log.warn(`restore notification to ${state.label}: no time left for the end message`);
          return;
        }
        await this.#post(state, body, Math.min(left, this.#options.timeoutMs));
      }),
    );
    for (const state of this.#targets) {
      if (state.failures > 1)
        this.#options.log.warn(
          `restore notifications to ${state.label}: ${state.failures} of ${state.failures + state.delivered} not delivered`,
        );
    }
  }

  #tick(state: TargetState): void {
    if (this.#stopped) return;
    if (state.inFlight) {
      this.#options.log.debug(
        `restore notification to ${state.label}: previous one still in flight; update skipped`,
      );
      return;
    }
    this.#post(state, restoreProgressBody(this.#options.facts, this.progress()));
  }

  #post(
    state: TargetState,
    body: RestoreNotificationBody,
    timeoutMs = this.#options.timeoutMs,
  ): Promise<void> {
    const abort = new AbortController();
    const send = this.#options.fetch ?? fetch;
    // deliver() has its own timeout; this adds a way to abandon a delivery (superseded, out of budget).
    const abortable: typeof fetch = (input, init) =>
      send(input, {
        ...init,
        signal: init?.signal ? AbortSignal.any([init.signal, abort.signal]) : abort.signal,
      });
    const facts = this.#options.facts;
    const done = deliver(
      [state.target],
      (target) => (target.kind === "slack" ? { text: restoreSlackText(facts, body) } : body),
      this.#options.version,
      { fetch: abortable, timeoutMs },
    )
      .then(([delivery]) => {
        if (delivery?.ok) state.delivered++;
        else if (abort.signal.aborted)
          this.#options.log.debug(
            `restore notification (${body.kind}) to ${state.label} abandoned: ${String(abort.signal.reason)}`,
          );
        else this.#failed(state, body.kind, delivery?.detail ?? "not sent");
      })
      .catch((error: unknown) => this.#failed(state, body.kind, String(error)))
      .finally(() => {
        if (state.inFlight?.done === done) delete state.inFlight;
      });
    state.inFlight = { kind: body.kind, done, abort };
    return done;
  }

  #failed(state: TargetState, kind: string, detail: string): void {
    state.failures++;
    const message = `restore notification (${kind}) to ${state.label} failed: ${detail}; the restore goes on`;
    if (state.failures === 1)
      this.#options.log.warn(`${message} (further failures of this target at debug level)`);
    else this.#options.log.debug(message);
  }

  #stopTimers(): void {
    this.#stopped = true;
    for (const state of this.#targets) clearInterval(state.timer);
  }

  #bytesDone(): number {
    let done = 0;
    for (const member of this.#members.values()) done += member.done;
    return done;
  }

  #phase(): string {
    const members = [...this.#members.entries()];
    if (members.length === 0) return "prepare";
    if (members.length === 1) return members[0]![1].phase;
    return members.map(([name, state]) => `${name}: ${state.phase}`).join(", ");
  }
}

/** A target as logs may name it: its kind and host, never its path or token. */
export function describeTarget(target: Pick<RestoreNotifyTarget, "kind" | "url">): string {
  try {
    return `${target.kind} (${new URL(target.url).host})`;
  } catch {
    return target.kind;
  }
}

async function waitAtMost(promise: Promise<void>, ms: number): Promise<void> {
  if (ms <= 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
