// The one explicit list of storage backends. Adding a backend means adding one
// entry here (and running the conformance suite against it): nothing else in
// Lifeboat chooses a backend by URL.

import { fileURLToPath } from "node:url";
import { isAbsolute } from "node:path";
import { LifeboatError } from "../errors.ts";
import type { Backend } from "./backend.ts";
import { FsBackend } from "./fs.ts";
import { MemoryBackend } from "./memory.ts";
import { LazyBackend } from "./lazy.ts";
import { parseS3Url, printableS3Location } from "./s3-url.ts";

/** Settings of lifeboat.yaml's repository block that only some backends use (S3's). */
export interface StorageSettings {
  readonly endpoint?: string;
  readonly region?: string;
  readonly pathStyle?: boolean;
}

interface BackendEntry {
  readonly scheme: string;
  readonly example: string;
  open(url: URL, raw: string, settings: StorageSettings): Backend;
}

// Named memory backends live as long as the process, so a test can open the
// same "repository" twice (memory://name); plain memory:// is always fresh.
const namedMemoryBackends = new Map<string, MemoryBackend>();

const backends: readonly BackendEntry[] = [
  {
    scheme: "file:",
    example: "file:///var/backups/lifeboat",
    open(url, raw) {
      if (url.host !== "") {
        throw badUrl(raw, "a file:// URL must have an empty host: file:///absolute/path");
      }
      const path = fileURLToPath(url);
      if (!isAbsolute(path) || path === "/") throw badUrl(raw, "the path must be an absolute directory");
      return new FsBackend(path);
    },
  },
  {
    scheme: "s3:",
    example: "s3://bucket/prefix",
    open(_url, raw, settings) {
      // Credentials come from the SDK's chain (environment, profile, web identity), never from here.
      const options = { ...parseS3Url(raw), ...settings };
      // The AWS SDK loads only when the repository is first used (lazy.ts).
      return new LazyBackend(printableS3Location(options), async () => {
        const { S3Backend } = await import("./s3.ts");
        return new S3Backend(options);
      });
    },
  },
  {
    scheme: "memory:",
    example: "memory:// (tests only)",
    open(url) {
      const name = url.host + url.pathname;
      if (name === "") return new MemoryBackend();
      let backend = namedMemoryBackends.get(name);
      if (!backend) {
        backend = new MemoryBackend();
        namedMemoryBackends.set(name, backend);
      }
      return backend;
    },
  },
];

export const supportedSchemes: readonly string[] = backends.map((b) => b.scheme.replace(/:$/, ""));

/** Open the backend a repository URL names. Unknown schemes are a config error listing what is supported. */
export function openBackend(url: string, settings: StorageSettings = {}): Backend {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badUrl(url, `not a URL; supported: ${backends.map((b) => b.example).join(", ")}`);
  }
  const entry = backends.find((b) => b.scheme === parsed.protocol);
  if (!entry) {
    throw badUrl(
      url,
      `unsupported scheme "${parsed.protocol.replace(/:$/, "")}"; supported: ${backends.map((b) => b.example).join(", ")}`,
    );
  }
  return entry.open(parsed, url, settings);
}

function badUrl(url: string, why: string): LifeboatError {
  // Never echo credentials a URL might carry (user:password@host).
  const shown = url.replace(/\/\/[^/@]*@/, "//***@");
  return new LifeboatError("BAD_CONFIG", `repository.url ${shown}: ${why}`, {
    details: { path: "repository.url" },
  });
}
