// The two JetStream API calls the NATS client libraries do not wrap: stream
// snapshot and stream restore ($JS.API.STREAM.SNAPSHOT.<stream>,
// $JS.API.STREAM.RESTORE.<stream>; what `nats stream backup/restore` uses).
// Requests and responses are JSON; an `error` member is the server's refusal.

import type { NatsConnection } from "@nats-io/transport-node";
import type { StreamConfig, StreamState } from "@nats-io/jetstream";
import { LifeboatError, type ErrorCode } from "../../errors.ts";

export interface JetStreamApiError {
  readonly code: number;
  readonly err_code?: number;
  readonly description: string;
}

/** JSApiStreamSnapshotResponse: the stream's config and its state when the snapshot began. */
export interface SnapshotResponse {
  readonly config: StreamConfig;
  readonly state: StreamState;
}

/** JSApiStreamRestoreResponse: where to send the snapshot's chunks. */
export interface RestoreResponse {
  readonly deliver_subject: string;
}

/** JSApiStreamCreateResponse, the answer to the restore's last (empty) chunk. */
export interface RestoredStream {
  readonly config: StreamConfig;
  readonly state: StreamState;
}

/** JetStream's err_codes for a target that has the stream already, or one with the same subjects. */
export const streamNameExistErrors = new Set([10058, 10065, 10130]);
/** JetStream's err_code for "insufficient resources". */
export const insufficientResourcesError = 10023;

const apiTimeoutMs = 10_000;

/** Send `body` as JSON to `subject` and parse the answer; an API error is a LifeboatError of `code`. */
export async function jsonRequest<T>(
  connection: NatsConnection,
  subject: string,
  body: unknown,
  failure: { code: ErrorCode; what: string },
  timeoutMs = apiTimeoutMs,
): Promise<T> {
  let text: string;
  try {
    const reply = await connection.request(subject, JSON.stringify(body), { timeout: timeoutMs });
    text = new TextDecoder().decode(reply.data);
  } catch (error) {
    throw new LifeboatError(failure.code, `${failure.what}: ${(error as Error).message}`, { cause: error });
  }
  return parseApiAnswer<T>(text, failure);
}

export function parseApiAnswer<T>(text: string, failure: { code: ErrorCode; what: string }): T {
  let parsed: { error?: JetStreamApiError } & T;
  try {
    parsed = JSON.parse(text) as { error?: JetStreamApiError } & T;
  } catch {
    throw new LifeboatError(
      failure.code,
      `${failure.what}: the server answered ${JSON.stringify(text.slice(0, 200))}`,
    );
  }
  if (parsed.error) throw apiFailure(parsed.error, failure);
  return parsed;
}

export function apiFailure(
  error: JetStreamApiError,
  failure: { code: ErrorCode; what: string },
): LifeboatError {
  const code: ErrorCode =
    error.err_code !== undefined && streamNameExistErrors.has(error.err_code)
      ? "TARGET_NOT_EMPTY"
      : error.err_code === insufficientResourcesError && failure.code !== "SOURCE_TOOL_FAILED"
        ? "TARGET_FULL"
        : failure.code;
  return new LifeboatError(
    code,
    `${failure.what}: ${error.description} (JetStream error ${error.err_code ?? error.code})`,
    {
      details: { jetstreamCode: error.code, jetstreamErrCode: error.err_code },
    },
  );
}
