// `lifeboat serve`: /metrics, /healthz/backup, /readyz and the dashboard over
// plain node:http. Read-only by construction (GET and HEAD only). It binds
// 127.0.0.1 unless told otherwise, and anywhere else only with a bearer
// token. Every page is rendered from one status reading, cached for a few
// seconds so a scrape, a health probe and a person looking at the dashboard
// do not each list the repository.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { DrillReport } from "../domain/drill-report.ts";
import type { RunRecord } from "../domain/run-record.ts";
import type { StatusReport } from "../domain/status.ts";
import { LifeboatError } from "../errors.ts";
import { statusRegistry } from "../report/metrics.ts";
import { redact } from "../runtime/redact.ts";
import { routeDashboard } from "./dashboard-routes.ts";

export interface StatusReading {
  readonly report: StatusReport;
  readonly runs: readonly RunRecord[];
  readonly drills: readonly DrillReport[];
}

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  /** Required unless `host` is a loopback address. */
  readonly token?: string | undefined;
  /** Reads the repository; it must not throw (an unreadable repository is a failing report). */
  readonly read: () => Promise<StatusReading>;
  /** How long one reading serves every request (default 5 s). */
  readonly cacheMs?: number;
  readonly log?: (line: string) => void;
}

export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The newest reading, refreshed at most every cacheMs; concurrent requests share one refresh. */
function cachedReader(read: () => Promise<StatusReading>, cacheMs: number): () => Promise<StatusReading> {
  let latest: { at: number; reading: Promise<StatusReading> } | undefined;
  return () => {
    if (!latest || Date.now() - latest.at > cacheMs) latest = { at: Date.now(), reading: read() };
    return latest.reading;
  };
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, {
    "content-type": type,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    // The dashboard is self-contained: nothing may load from anywhere else.
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
  });
  response.end(response.req.method === "HEAD" ? undefined : body);
}

function authorized(request: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const given = Buffer.from(request.headers.authorization ?? "");
  const wanted = Buffer.from(`Bearer ${token}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

export function healthBody(report: StatusReport): { status: number; body: string } {
  const ok = report.verdict === "ok";
  const body = {
    status: ok ? "ok" : report.verdict,
    generatedAt: report.generatedAt,
    sources: report.sources.map((source) => ({
      source: source.source,
      verdict: source.verdict,
      reasons: source.reasons,
      lastBackupAt: source.lastBackup?.at ?? null,
      lastDrillAt: source.lastDrill?.at ?? null,
    })),
    repository: report.repository.error ? { error: report.repository.error } : { error: null },
  };
  return { status: ok ? 200 : 503, body: `${JSON.stringify(body, null, 2)}\n` };
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  if (!isLoopback(options.host) && !options.token) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `serve: binding ${options.host} (not loopback) needs a bearer token`,
      {
        hint: "Set serve.token_env in lifeboat.yaml (or --token-env) to a variable holding a long random token, or bind 127.0.0.1 behind your own proxy.",
      },
    );
  }
  const read = cachedReader(options.read, options.cacheMs ?? 5000);
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.setHeader("allow", "GET, HEAD");
      return send(response, 405, "text/plain; charset=utf-8", "read-only: GET and HEAD only\n");
    }
    if (!authorized(request, options.token)) {
      response.setHeader("www-authenticate", 'Bearer realm="lifeboat"');
      return send(response, 401, "text/plain; charset=utf-8", "a bearer token is required\n");
    }
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    const reading = await read();
    if (path === "/metrics") {
      const registry = statusRegistry(reading.report, reading.runs);
      return send(response, 200, registry.contentType, await registry.metrics());
    }
    if (path === "/healthz/backup") {
      const { status, body } = healthBody(reading.report);
      return send(response, status, "application/json; charset=utf-8", body);
    }
    if (path === "/readyz") {
      const error = reading.report.repository.error;
      return error
        ? send(
            response,
            503,
            "text/plain; charset=utf-8",
            `not ready: the repository could not be read (${error.code})\n`,
          )
        : send(response, 200, "text/plain; charset=utf-8", "ready\n");
    }
    const page = routeDashboard(path, reading);
    return send(response, page.status, "text/html; charset=utf-8", page.html);
  };
  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const message = redact(error instanceof Error ? error.message : String(error));
      options.log?.(`serve: ${request.url}: ${message}`);
      if (!response.headersSent)
        send(response, 500, "text/plain; charset=utf-8", `internal error: ${message}\n`);
      else response.destroy();
    });
  });
  // A status page must never hold a slow client's socket for ever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new LifeboatError(
          "BAD_ARGUMENT",
          `serve: cannot listen on ${options.host}:${options.port}: ${error.message}`,
          {
            hint: "Choose another --listen address or port (the port may be in use).",
            cause: error,
          },
        ),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
