// The s3rver process started by test/support/s3-server.ts. It runs apart from
// the tests, like a real server, and with OpenSSL's legacy provider: s3rver
// encrypts its ListObjectsV2 continuation tokens with DES, which Node's
// OpenSSL 3 refuses otherwise (so paged listings would fail with a 500).
//
// Usage: node --openssl-legacy-provider s3rver-process.ts <directory>
// Prints {"port": N} once listening; exits when its stdin closes (its parent
// test process ended, however it ended).

import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

interface StoredObject {
  readonly bucket: string;
  readonly key: string;
  readonly metadata: Record<string, string>;
  readonly content: Buffer | Readable;
}

/** The parts of s3rver's FilesystemStore that `atomicWrites` uses (lib/stores/filesystem.js). */
interface FilesystemStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
}

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  store: FilesystemStore;
}

/** s3rver's putObject, but the body goes to a temp file renamed into place once whole (as S3 guarantees). */
function atomicWrites(store: FilesystemStore): void {
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, "object");
    await mkdir(dirname(objectPath), { recursive: true });
    // Not named like an object (s3rver lists files ending in "._S3rver_object").
    const temp = `${objectPath}.tmp-${randomBytes(6).toString("hex")}`;
    const hash = createHash("md5");
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(source, counter, createWriteStream(temp));
      await rename(temp, objectPath);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    const md5 = hash.digest("hex");
    await store.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size, md5 };
  };
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

const directory = process.argv[2];
if (!directory) throw new Error("usage: s3rver-process.ts <directory>");
// s3rver is CommonJS without types.
const S3rver = createRequire(import.meta.url)("s3rver") as S3rverClass;
const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory });
atomicWrites(server.store);
const { port } = await server.run();
process.stdout.write(JSON.stringify({ port }) + "\n");
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
