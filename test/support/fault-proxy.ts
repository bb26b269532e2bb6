// A real HTTP proxy on 127.0.0.1 in front of an S3 server, injecting faults
// per plan (ARCHITECTURE.md, faults 5 and 6): the code under test talks HTTP
// to it exactly as to a store, and sees 5xx/429 replies with S3 error bodies,
// slow replies, connections reset mid-body, bodies cut short under their full
// Content-Length, 200 replies whose body is an S3 <Error>, and uploads the
// store keeps only half of while answering 200.
//
// Requests keep their headers (SigV4 signs the Host header, which stays the
// proxy's), so the store verifies signatures as usual.

import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export type Fault =
  /** Answer without forwarding: an S3 error document with this status (429 also sends Retry-After). */
  | { kind: "status"; status: number; code?: string; retryAfterSeconds?: number }
  /** Wait, then forward. */
  | { kind: "delay"; ms: number }
  /** Forward; send the reply's headers and half its body, then reset the connection. */
  | { kind: "reset-mid-body" }
  /** Forward; send the full Content-Length but only half the body, then close the connection cleanly. */
  | { kind: "truncate-body" }
  /** Answer 200 with an S3 <Error> body; with forward, the store did receive (and may have applied) the request. */
  | { kind: "error-in-200"; forward?: boolean }
  /** Forward only the first half of the request body (as a complete, shorter request) and relay the store's reply. */
  | { kind: "short-upload" };

export interface FaultRule {
  readonly method?: string;
  /** Tested against the request's path and query (path-style: /bucket/key?query). */
  readonly path?: RegExp;
  /** Only requests carrying this header (lower case), e.g. "if-none-match". */
  readonly header?: string;
  /** How many matching requests get the fault; default: all. */
  times?: number;
  readonly fault: Fault;
}

export interface ProxiedRequest {
  readonly method: string;
  readonly url: string;
  readonly fault?: Fault["kind"];
}

export interface FaultProxy {
  readonly endpoint: string;
  /** Every request seen, in order, with the fault it got. */
  readonly requests: ProxiedRequest[];
  /** Arm a fault; the first matching rule with times left applies. */
  add(rule: FaultRule): void;
  /** Disarm every fault and forget the request log. */
  reset(): void;
  close(): Promise<void>;
}

const errorMessages: Record<string, string> = {
  InternalError: "We encountered an internal error. Please try again.",
  ServiceUnavailable: "Please reduce your request rate.",
  SlowDown: "Please reduce your request rate.",
  AccessDenied: "Access Denied",
};

export function s3ErrorDocument(code: string): string {
  const message = errorMessages[code] ?? code;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;
}

function defaultCode(status: number): string {
  if (status === 503) return "ServiceUnavailable";
  if (status === 429) return "SlowDown";
  if (status === 403) return "AccessDenied";
  return "InternalError";
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const rules: FaultRule[] = [];
  const requests: ProxiedRequest[] = [];

  const forward = (req: IncomingMessage, body: Buffer): Promise<{ reply: IncomingMessage; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers, "content-length": String(body.length) };
      delete headers["expect"]; // the body is already read; no 100-continue round trip
      delete headers["transfer-encoding"];
      const upstreamRequest = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
        (reply) => readAll(reply).then((replyBody) => resolve({ reply, body: replyBody }), reject),
      );
      upstreamRequest.on("error", reject);
      upstreamRequest.end(body);
    });

  const answerError = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    code: string,
    extra = {},
  ) => {
    const document = s3ErrorDocument(code);
    res.writeHead(status, {
      "content-type": "application/xml",
      "content-length": Buffer.byteLength(document),
      ...extra,
    });
    res.end(req.method === "HEAD" ? undefined : document);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readAll(req);
    const rule = rules.find(
      (r) =>
        (r.times === undefined || r.times > 0) &&
        (r.method === undefined || r.method === req.method) &&
        (r.path === undefined || r.path.test(req.url ?? "")) &&
        (r.header === undefined || req.headers[r.header] !== undefined),
    );
    if (rule && rule.times !== undefined) rule.times--;
    const fault = rule?.fault;
    requests.push({ method: req.method ?? "", url: req.url ?? "", ...(fault ? { fault: fault.kind } : {}) });

    if (fault?.kind === "status") {
      const retryAfter =
        fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : {};
      answerError(req, res, fault.status, fault.code ?? defaultCode(fault.status), retryAfter);
      return;
    }
    if (fault?.kind === "error-in-200" && !fault.forward) {
      answerError(req, res, 200, "InternalError");
      return;
    }
    if (fault?.kind === "delay") await sleep(fault.ms);
    const sent = fault?.kind === "short-upload" ? body.subarray(0, Math.floor(body.length / 2)) : body;
    const { reply, body: replyBody } = await forward(req, sent);
    if (fault?.kind === "error-in-200") {
      answerError(req, res, 200, "InternalError");
      return;
    }
    const headers = { ...reply.headers };
    delete headers["transfer-encoding"];
    // A HEAD reply has no body but tells the object's length: keep it.
    if (req.method !== "HEAD") headers["content-length"] = String(replyBody.length);
    res.writeHead(reply.statusCode ?? 502, headers);
    if (fault?.kind === "reset-mid-body" || fault?.kind === "truncate-body") {
      const half = replyBody.subarray(0, Math.floor(replyBody.length / 2));
      const socket = res.socket;
      res.write(half, () => {
        if (fault.kind === "reset-mid-body") socket?.resetAndDestroy();
        else socket?.end();
      });
      return;
    }
    res.end(req.method === "HEAD" ? undefined : replyBody);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // The upstream failed or the client went away: drop the connection, as a broken proxy would.
      res.socket?.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    add: (rule) => void rules.push(rule),
    reset: () => {
      rules.length = 0;
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
