// Messages between the codec pool (main thread) and its workers. Requests of
// one worker are handled in the order they were posted, which the two-step
// write relies on: "hash" leaves the chunk in the worker, and the main thread
// follows up with "seal" (a new chunk) or "drop" (one already stored).

import type { ErrorCode } from "../errors.ts";
import type { Protection } from "./envelope.ts";

export type WorkerRequest =
  | {
      readonly op: "context";
      readonly context: number;
      readonly encryption: Uint8Array;
      readonly mac: Uint8Array;
      readonly protection: Protection;
      readonly chunkMax: number;
    }
  | { readonly op: "forget"; readonly context: number }
  | { readonly op: "hash"; readonly task: number; readonly context: number; readonly chunk: Uint8Array }
  | { readonly op: "seal"; readonly task: number; readonly context: number; readonly key: string }
  | { readonly op: "drop"; readonly task: number }
  | {
      readonly op: "open";
      readonly task: number;
      readonly context: number;
      readonly key: string;
      readonly id: string;
      readonly stored: Uint8Array;
    };

export interface WorkerFailure {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: Record<string, unknown>;
}

export type WorkerReply =
  | { readonly task: number; readonly id: string }
  | { readonly task: number; readonly bytes: Uint8Array }
  | { readonly task: number; readonly error: WorkerFailure };
