// A real S3-compatible server for tests: s3rver (npm) in its own process
// (s3rver-process.ts) on a free loopback port, storing into a fresh temp
// directory, stopped with `stop()`. It accepts the
// credentials S3RVER/S3RVER, which tests give Lifeboat the way a user would:
// through AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (`s3Environment`).
//
// Limits of s3rver worth knowing when reading a test: it ignores
// If-None-Match on PutObject (so Lifeboat's probe finds no conditional put),
// it does not verify Content-MD5, it cannot list or abort multipart uploads,
// and its ETag for a multipart object is the MD5 of the whole object.
//
// One s3rver behaviour is corrected here, because every S3 store guarantees
// the opposite and the storage contract rests on it: s3rver streams an upload
// straight into the object's file, so two concurrent puts of one key mix
// their bytes and an upload cut off midway leaves a partial object. Its
// store's putObject is replaced by the same steps written to a temp file
// that is renamed into place once the body is whole (`atomicWrites` in
// s3rver-process.ts).

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";

/** What a child process (or this one) needs to reach s3rver through the SDK's standard chain. */
export const s3Environment = {
  AWS_ACCESS_KEY_ID: "S3RVER",
  AWS_SECRET_ACCESS_KEY: "S3RVER",
  // Never ask an instance metadata service (a non-loopback address) for credentials.
  AWS_EC2_METADATA_DISABLED: "true",
} as const;

/** Give this test process the same credentials (the S3 backend reads them through the SDK chain). */
export function useS3Environment(): void {
  Object.assign(process.env, s3Environment);
}

export interface S3TestServer {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly directory: string;
  /** Create a bucket with a unique name starting with `prefix`; returns its name. */
  createBucket(prefix?: string): Promise<string>;
  stop(): Promise<void>;
}

const serverScript = fileURLToPath(new URL("./s3rver-process.ts", import.meta.url));

export async function startS3Server(): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), "lifeboat-s3rver-"));
  const child = spawn(process.execPath, ["--openssl-legacy-provider", serverScript, directory], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  // If this process dies without stop(), the child sees its stdin close and exits.
  const killOnExit = () => child.kill("SIGKILL");
  process.on("exit", killOnExit);
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code} before listening`)));
    createInterface({ input: child.stdout }).once("line", (line) =>
      resolve((JSON.parse(line) as { port: number }).port),
    );
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const admin = new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: {
      accessKeyId: s3Environment.AWS_ACCESS_KEY_ID,
      secretAccessKey: s3Environment.AWS_SECRET_ACCESS_KEY,
    },
  });
  return {
    endpoint,
    directory,
    async createBucket(prefix = "lifeboat-test") {
      const name = `${prefix}-${randomBytes(4).toString("hex")}`;
      await admin.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async stop() {
      admin.destroy();
      process.off("exit", killOnExit);
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.stdin.end();
        await exited;
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}
