// A streaming HTTP proxy on 127.0.0.1 in front of s3rver that records every
// request, so the S3 benchmark can say how many requests of each billed kind
// a command made (S3 bills PUT/COPY/POST/LIST at one price, GET/HEAD at
// another). Unlike test/support/fault-proxy.ts it never buffers a body: a
// 32 MiB pack passes through as it arrives, so timing through it stays close
// to timing the store itself. Headers pass unchanged (SigV4 signs the Host
// header, which stays the proxy's), so s3rver verifies signatures as usual.
// Streaming-signed (aws-chunked) uploads are decoded on the way, as S3 does
// and s3rver does not (aws-chunked.ts): restic's client sends them.

import { Agent, createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { AwsChunkedDecoder, decodedHeaders, STREAMING_PAYLOAD } from "./aws-chunked.ts";

/** The request kinds S3 prices and throttles separately; LIST is a GET on the bucket (ListObjects). */
export const REQUEST_KINDS = ["PUT", "GET", "HEAD", "LIST", "DELETE", "POST"] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number] | "other";

export interface SeenRequest {
  readonly kind: RequestKind;
  readonly method: string;
  /** The object key below the bucket (path-style: /bucket/key), "" for a bucket-level request. */
  readonly key: string;
  readonly query: string;
  readonly status: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
}

export type RequestCounts = Record<RequestKind, number> & {
  total: number;
  /** Replies with a status of 400 or more (a retry or a probe that found nothing). */
  errors: number;
  bytesUp: number;
  bytesDown: number;
};

export interface CountingProxy {
  readonly endpoint: string;
  /** Every request since the last reset(), in the order the replies finished. */
  readonly requests: readonly SeenRequest[];
  reset(): void;
  close(): Promise<void>;
}

export function classify(method: string, key: string, query: URLSearchParams): RequestKind {
  if (method === "GET" && (key === "" || query.has("list-type")) && !query.has("location")) return "LIST";
  return (REQUEST_KINDS as readonly string[]).includes(method) ? (method as RequestKind) : "other";
}

export function countRequests(requests: readonly SeenRequest[]): RequestCounts {
  const counts: RequestCounts = {
    PUT: 0,
    GET: 0,
    HEAD: 0,
    LIST: 0,
    DELETE: 0,
    POST: 0,
    other: 0,
    total: 0,
    errors: 0,
    bytesUp: 0,
    bytesDown: 0,
  };
  for (const seen of requests) {
    counts[seen.kind]++;
    counts.total++;
    if (seen.status >= 400) counts.errors++;
    counts.bytesUp += seen.bytesUp;
    counts.bytesDown += seen.bytesDown;
  }
  return counts;
}

/**
 * Requests per kind and per top-level folder of the repository (data/,
 * index/, snapshots/, locks/, ...), e.g. "GET snapshots/": 1000, with
 * `withStatus` also per reply status ("HEAD index/ 404"). Explains a total.
 * `root` is the repository's prefix inside the bucket ("" or "prod/").
 */
export function requestsByFolder(
  requests: readonly SeenRequest[],
  root = "",
  options: { withStatus?: boolean } = {},
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const seen of requests) {
    const key = seen.key.startsWith(root) ? seen.key.slice(root.length) : seen.key;
    const listed = new URLSearchParams(seen.query).get("prefix") ?? "";
    const path = seen.kind === "LIST" ? listed.slice(root.length) : key;
    const slash = path.indexOf("/");
    // Temp objects (Lifeboat's conditional-put probe, .tmp-<random>) are one kind, whatever their name.
    const folder = path.startsWith(".tmp-")
      ? ".tmp-*"
      : slash === -1
        ? path || "(bucket)"
        : path.slice(0, slash + 1);
    const name = `${seen.kind} ${folder}${options.withStatus ? ` ${seen.status}` : ""}`;
    out[name] = (out[name] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const [, , ...keyParts] = url.pathname.split("/"); // "", bucket, key...
    const key = decodeURIComponent(keyParts.join("/"));
    const chunked = req.headers["x-amz-content-sha256"] === STREAMING_PAYLOAD;
    const headers = chunked ? decodedHeaders(req.headers) : { ...req.headers };
    delete headers["expect"]; // no 100-continue round trip between proxy and store
    let bytesUp = 0;
    let bytesDown = 0;
    req.on("data", (chunk: Buffer) => (bytesUp += chunk.length));
    const upstreamRequest = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.on("data", (chunk: Buffer) => (bytesDown += chunk.length));
        reply.pipe(res);
        reply.on("end", () => {
          const method = req.method ?? "";
          requests.push({
            kind: classify(method, key, url.searchParams),
            method,
            key,
            query: url.search.slice(1),
            status: reply.statusCode ?? 0,
            bytesUp,
            bytesDown,
          });
        });
      },
    );
    // The store failed or the client went away: drop the connection, as a broken network would.
    upstreamRequest.on("error", () => res.socket?.destroy());
    if (chunked) {
      const decoder = new AwsChunkedDecoder();
      decoder.on("error", () => res.socket?.destroy());
      req.pipe(decoder).pipe(upstreamRequest);
    } else req.pipe(upstreamRequest);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    reset: () => void (requests.length = 0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
