// How an S3 failure becomes a LifeboatError. The rule of docs/storage.md:
// STORAGE_ERROR with details.retryable true only for what can heal by
// itself (5xx, 429/SlowDown, timeouts, connection resets), so the one retry
// layer (RetryingBackend) backs off on those and fails at once on the rest;
// the permanent ones say what to fix (permissions, bucket, endpoint, region,
// credentials). The SDK's own retries are off (maxAttempts: 1).

import { LifeboatError } from "../errors.ts";

/** Where a failing request went, for the message. */
export interface S3Target {
  /** Printable repository location (s3://bucket/prefix). */
  readonly location: string;
  readonly bucket: string;
  /** The repository-relative key, when the request was about one object. */
  readonly key?: string;
  /** A write (put, delete): a 403 then means the store refuses writes. */
  readonly write?: boolean;
}

/** What an SDK error carries; every field may be missing (network errors have none of them). */
interface SdkErrorShape {
  readonly name?: string;
  readonly message?: string;
  readonly code?: string;
  readonly Code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $response?: { readonly headers?: Record<string, string | undefined> };
}

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

// S3 error codes that heal by themselves even when the status is 4xx:
// RequestTimeout is a 400, the 409s are races with another request.
const TRANSIENT_S3_CODES = new Set([
  "SlowDown",
  "RequestTimeout",
  "InternalError",
  "ServiceUnavailable",
  "Throttling",
  "ThrottlingException",
  "RequestLimitExceeded",
  "OperationAborted",
  "ConditionalRequestConflict",
  "TimeoutError",
  "RequestTimeoutException",
]);

function shapeOf(error: unknown): SdkErrorShape {
  return typeof error === "object" && error !== null ? (error as SdkErrorShape) : { message: String(error) };
}

/** The S3 error code (NoSuchKey, AccessDenied, ...) or the SDK's error name. */
export function s3CodeOf(error: unknown): string | undefined {
  const shape = shapeOf(error);
  return shape.Code ?? shape.name;
}

export function httpStatusOf(error: unknown): number | undefined {
  return shapeOf(error).$metadata?.httpStatusCode;
}

/** 404 of any kind (NoSuchKey, HEAD's bodiless NotFound), but not a missing bucket. */
export function isNotFound(error: unknown): boolean {
  const code = s3CodeOf(error);
  if (code === "NoSuchBucket") return false;
  return code === "NoSuchKey" || code === "NotFound" || httpStatusOf(error) === 404;
}

/** A 412: the store honoured If-None-Match and an object was already there. */
export function isPreconditionFailed(error: unknown): boolean {
  return httpStatusOf(error) === 412 || s3CodeOf(error) === "PreconditionFailed";
}

/** A 416: the range starts at or after the object's end (the store holds no byte of it). */
export function isRangeNotSatisfiable(error: unknown): boolean {
  return httpStatusOf(error) === 416 || s3CodeOf(error) === "InvalidRange";
}

function isTransient(error: unknown): boolean {
  const shape = shapeOf(error);
  const status = shape.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (shape.code !== undefined && NETWORK_CODES.has(shape.code)) return true;
  const code = s3CodeOf(error);
  if (code !== undefined && TRANSIENT_S3_CODES.has(code)) return true;
  // A socket that closed under a request (Node says "socket hang up" or "aborted").
  return /socket hang up|aborted|premature close|ECONNRESET/i.test(shape.message ?? "");
}

/** What to do about a permanent failure, by S3 code; undefined keeps STORAGE_ERROR's own hint. */
function hintFor(code: string | undefined, status: number | undefined, target: S3Target): string | undefined {
  const bucket = target.bucket;
  if (code === "NoSuchBucket") {
    return `Bucket ${bucket} does not exist at this endpoint: create it, or fix repository.url or repository.endpoint.`;
  }
  if (code === "InvalidAccessKeyId" || code === "SignatureDoesNotMatch" || code === "ExpiredToken") {
    return "The store refused the credentials: check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the web identity token (never lifeboat.yaml).";
  }
  if (code === "CredentialsProviderError") {
    return "No credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN).";
  }
  if (code === "PermanentRedirect" || code === "AuthorizationHeaderMalformed" || status === 301) {
    return `Bucket ${bucket} is in another region: set repository.region to the bucket's region.`;
  }
  if (code === "AccessDenied" || status === 403) {
    return `The credentials may not ${target.write ? "write to" : "read"} bucket ${bucket}: grant s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on the repository prefix, or check repository.endpoint.`;
  }
  return undefined;
}

function retryAfterMs(error: unknown): number | undefined {
  const header = shapeOf(error).$response?.headers?.["retry-after"];
  const seconds = header === undefined ? NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** The LifeboatError for a failed request: STORAGE_ERROR, retryable only when it can heal by itself. */
export function s3Failure(operation: string, target: S3Target, error: unknown): LifeboatError {
  if (error instanceof LifeboatError) return error;
  const shape = shapeOf(error);
  const status = shape.$metadata?.httpStatusCode;
  const code = s3CodeOf(error);
  if (/Region is missing/i.test(shape.message ?? "")) {
    return new LifeboatError("BAD_CONFIG", `repository.region: no region for ${target.location}`, {
      cause: error,
      details: { path: "repository.region" },
      hint: "Set repository.region (or AWS_REGION) to the bucket's region.",
    });
  }
  const retryable = isTransient(error);
  const what = target.key === undefined ? operation : `${operation} ${target.key}`;
  const why = [status, code ?? shape.code].filter((part) => part !== undefined).join(" ");
  const message = `${what} failed at ${target.location}: ${why || "error"} (${shape.message ?? "no message"})`;
  const refusesWrites = target.write === true && (status === 403 || code === "AccessDenied");
  const after = retryAfterMs(error);
  const hint = retryable ? undefined : hintFor(code, status, target);
  return new LifeboatError("STORAGE_ERROR", message, {
    cause: error,
    ...(hint ? { hint } : {}),
    details: {
      bucket: target.bucket,
      ...(target.key !== undefined ? { key: target.key } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(code !== undefined ? { s3Code: code } : {}),
      retryable,
      ...(after !== undefined ? { retryAfterMs: after } : {}),
      // A bucket whose credentials may only read: readers go on without a lock.
      ...(refusesWrites ? { readOnly: true } : {}),
    },
  });
}

/** A reply that claims success but cannot be one (a lying proxy, a cut transfer): always retryable. */
export function s3Inconsistent(operation: string, target: S3Target, why: string): LifeboatError {
  const what = target.key === undefined ? operation : `${operation} ${target.key}`;
  return new LifeboatError("STORAGE_ERROR", `${what} failed at ${target.location}: ${why}`, {
    details: {
      bucket: target.bucket,
      ...(target.key !== undefined ? { key: target.key } : {}),
      retryable: true,
    },
  });
}
