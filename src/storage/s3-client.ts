// The one place an S3Client is configured for Lifeboat.
//
// - Credentials come from the SDK's standard chain only (environment,
//   shared profile, web identity in Kubernetes, container and instance
//   roles); whatever it resolves is registered with the redaction step so
//   the secret never reaches an output.
// - The SDK's own retries are off (maxAttempts: 1): RetryingBackend is the one
//   retry layer, so attempts are counted once and the limit means what it says.
// - Checksums: Content-MD5 (set by the backend) is what every S3-compatible
//   store verifies; the SDK's newer default CRC headers are sent only where an
//   operation requires them, since several compatible stores reject them.
// - A 2xx reply whose body is an S3 <Error> document (some proxies and
//   gateways answer that way) is turned back into an error before the SDK
//   reads it as a success.

import { Readable } from "node:stream";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { S3Client } from "@aws-sdk/client-s3";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { registerSecret, registerSecretVariable } from "../runtime/redact.ts";

export interface S3ClientSettings {
  /** An S3-compatible server (MinIO, Ceph, s3rver); else AWS_ENDPOINT_URL_S3 or the SDK default. */
  readonly endpoint?: string;
  /** Else AWS_REGION / the profile; us-east-1 when an endpoint is given (compatible servers rarely care). */
  readonly region?: string;
  /** Path-style addressing (http://host/bucket/key), which most compatible servers need. */
  readonly pathStyle?: boolean;
  /** Sockets per host: requests beyond this wait for a free socket. */
  readonly maxSockets?: number;
  /** A request whose socket is idle this long fails (retryably); a slow but moving transfer never does. */
  readonly idleTimeoutMs?: number;
  readonly connectionTimeoutMs?: number;
}

export const DEFAULT_MAX_SOCKETS = 16;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;
/** Set on a 2xx reply that carried an error document, so the error's message can say so. */
export const LYING_SUCCESS_HEADER = "x-lifeboat-error-in-2xx";

export function createS3Client(settings: S3ClientSettings): S3Client {
  // Registered before any request: the chain may read them from here.
  registerSecretVariable("AWS_SECRET_ACCESS_KEY");
  registerSecretVariable("AWS_SESSION_TOKEN");
  const chain = defaultProvider();
  const agentOptions = { keepAlive: true, maxSockets: settings.maxSockets ?? DEFAULT_MAX_SOCKETS };
  const client = new S3Client({
    ...(settings.endpoint !== undefined ? { endpoint: settings.endpoint } : {}),
    ...(settings.region !== undefined
      ? { region: settings.region }
      : settings.endpoint !== undefined
        ? { region: "us-east-1" }
        : {}),
    forcePathStyle: settings.pathStyle ?? false,
    followRegionRedirects: true,
    maxAttempts: 1,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    credentials: async () => {
      const credentials = await chain();
      registerSecret(credentials.secretAccessKey);
      registerSecret(credentials.sessionToken);
      return credentials;
    },
    requestHandler: {
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      connectionTimeout: settings.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      // An idle timeout, not a deadline for the whole request: a large upload may take long.
      socketTimeout: settings.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      // The handler would print its warnings with console, past Lifeboat's redaction step.
      logger: silentLogger,
    },
  });
  // Typed loosely here: the SDK's middleware types live in a package Lifeboat does not depend on.
  type Middleware = Parameters<typeof client.middlewareStack.addRelativeTo>[0];
  client.middlewareStack.addRelativeTo(errorIn2xxMiddleware as unknown as Middleware, {
    relation: "after",
    toMiddleware: "deserializerMiddleware",
    name: "lifeboatErrorIn2xx",
  });
  return client;
}

const silentLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

interface RawResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: unknown;
}

// Sits between the HTTP handler and the deserializer, so it sees the raw reply.
// A real GetObject reply always has an ETag and its body is the object, so only
// an ETag-less one is inspected; every other S3 reply body is small XML.
const errorIn2xxMiddleware =
  (next: (args: unknown) => Promise<{ response: unknown }>, context: { commandName?: string }) =>
  async (args: unknown) => {
    const result = await next(args);
    const response = result.response as RawResponse | undefined;
    if (!response || response.statusCode < 200 || response.statusCode >= 300) return result;
    if (context.commandName === "GetObjectCommand" && response.headers["etag"] !== undefined) return result;
    if (!(response.body instanceof Readable)) return result;
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) chunks.push(Buffer.from(chunk as Uint8Array));
    const body = Buffer.concat(chunks);
    response.body = Readable.from([body]);
    const text = body.subarray(0, 4096).toString("utf8").trim();
    if (/^(<\?xml[^>]*\?>\s*)?<Error>/.test(text) && body.toString("utf8").trim().endsWith("</Error>")) {
      // 502: the reply is not a valid answer. The deserializer then builds the
      // error from the document's own Code and Message.
      response.statusCode = 502;
      response.headers[LYING_SUCCESS_HEADER] = "1";
    }
    return result;
  };
