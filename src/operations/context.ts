// What every operation needs from the outside world, passed in rather than
// reached for (execa/zx's lesson): tests can give a fixed clock or a logger
// that records, and nothing hides a global.

import type { RunRecord } from "../domain/run-record.ts";
import type { Engine } from "../engines/engine.ts";
import type { Repository } from "../repository/types.ts";
import type { Logger } from "../runtime/logger.ts";
import type { ProcessRunner } from "../runtime/process.ts";

export interface ProgressSink {
  /** A phase with a known or unknown byte total begins. */
  start(label: string, totalBytes?: number): void;
  /** Bytes processed since the last call. */
  advance(bytes: number): void;
  stop(): void;
  /** The restore moved to another phase (fetch, restore, verify): progress notifications report it. */
  phase?(name: string): void;
}

export const noProgress: ProgressSink = { start() {}, advance() {}, stop() {} };

export interface OperationContext {
  readonly repository: Repository;
  readonly engineFor: (name: string) => Engine;
  readonly runner: ProcessRunner;
  readonly log: Logger;
  readonly now: () => Date;
  readonly hostname: string;
  readonly progress: ProgressSink;
  readonly signal?: AbortSignal;
  /** Every run record this command kept (operations/run-record.ts), for what runs after it: heartbeats, notifications, metrics. */
  readonly recordedRuns?: RunRecord[];
}
