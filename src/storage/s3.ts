// The S3 backend: one object per key under `s3://bucket/prefix/`, through the
// AWS SDK v3 client, for AWS S3 and S3-compatible servers (MinIO, Ceph, ...).
//
// Atomicity comes from S3 itself: a single PutObject, or a multipart upload
// once completed, appears whole or not at all. What this file adds is
// distrust of replies: every put sends Content-MD5 (the store refuses a body
// that arrives short or damaged), checks that the ETag it got back is the MD5
// of what it sent, and confirms with a HEAD that the object is there; every
// get checks that it received Content-Length bytes, and a ranged get that
// they are the range's bytes (s3-range.ts). Retries are the
// RetryingBackend's job: failures leave here classified (s3-errors.ts).

import { createHash } from "node:crypto";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { LifeboatError } from "../errors.ts";
import {
  validateKey,
  type Backend,
  type BackendCapabilities,
  type ByteRange,
  type CleanupOptions,
  type ObjectInfo,
  type PutOptions,
} from "./backend.ts";
import { createS3Client, type S3ClientSettings } from "./s3-client.ts";
import { validateRange } from "./byte-range.ts";
import {
  isNotFound,
  isPreconditionFailed,
  isRangeNotSatisfiable,
  s3Failure,
  s3Inconsistent,
  type S3Target,
} from "./s3-errors.ts";
import {
  cleanupInterruptedWrites,
  deleteObject,
  probeConditionalPut,
  TEMP_PREFIX,
  type Bucket,
} from "./s3-housekeeping.ts";
import { MIN_PART_SIZE, unquote, uploadMultipart } from "./s3-multipart.ts";
import { rangedBytes, rangeHeader } from "./s3-range.ts";
import { printableS3Location, type S3Location } from "./s3-url.ts";

/** Objects larger than this go up in parts (S3 takes at most 5 GiB in one PutObject). */
export const DEFAULT_MULTIPART_THRESHOLD = 64 * 1024 * 1024;
export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;

export interface S3BackendOptions extends S3ClientSettings, S3Location {
  readonly multipartThreshold?: number;
  readonly partSize?: number;
  /**
   * Whether the store honours `If-None-Match: *` on PutObject. Undefined:
   * probe once, on the first conditional put (AWS S3 and MinIO do; s3rver and
   * older compatible stores ignore the header).
   */
  readonly conditionalPut?: boolean;
  /** Keys per ListObjectsV2 page (S3's maximum and default is 1000); tests lower it to exercise paging. */
  readonly listPageSize?: number;
}

interface StoredInfo {
  readonly size: number;
  readonly etag: string | undefined;
}

export class S3Backend implements Backend {
  readonly location: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #root: string;
  readonly #multipartThreshold: number;
  readonly #partSize: number;
  readonly #listPageSize: number | undefined;
  #conditionalPut: boolean | undefined;
  #probe: Promise<boolean> | undefined;

  constructor(options: S3BackendOptions) {
    this.#bucket = options.bucket;
    this.#root = options.root;
    this.#multipartThreshold = options.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD;
    this.#partSize = Math.max(MIN_PART_SIZE, options.partSize ?? DEFAULT_PART_SIZE);
    this.#conditionalPut = options.conditionalPut;
    this.#listPageSize = options.listPageSize;
    this.#client = createS3Client(options);
    this.location = printableS3Location(options);
  }

  /** conditionalPut is known once the first conditional put has probed the store (false until then). */
  get capabilities(): BackendCapabilities {
    // S3 has been strongly consistent for listings since 2020; so are MinIO and s3rver.
    return { atomicPut: true, conditionalPut: this.#conditionalPut === true, listAfterWriteConsistent: true };
  }

  async put(key: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    const objectKey = this.#objectKey(key);
    const target = this.#target(key, true);
    const conditional = options.ifAbsent ? await this.#supportsConditionalPut() : false;
    // Without a native conditional put, ifAbsent is a check then a put (racy,
    // docs/storage.md; init reads config back for this reason).
    if (options.ifAbsent && !conditional && (await this.stat(key)) !== undefined)
      throw exists(key, this.location);
    try {
      const reply =
        data.length > this.#multipartThreshold
          ? await uploadMultipart({
              client: this.#client,
              bucket: this.#bucket,
              objectKey,
              data,
              partSize: this.#partSize,
              ifNoneMatch: conditional,
              target,
            })
          : await this.#putSingle(objectKey, data, conditional);
      await this.#verifyStored(key, data.length, reply);
    } catch (error) {
      if (options.ifAbsent && isPreconditionFailed(error)) throw exists(key, this.location);
      throw s3Failure("put", target, error);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const target = this.#target(key);
    const objectKey = this.#objectKey(key);
    if (range !== undefined) validateRange(key, range);
    // HTTP has no Range for zero bytes, and a missing object must still say so.
    if (range?.length === 0) {
      if ((await this.#head(key)) === undefined) throw missing(key, this.location);
      return new Uint8Array(0);
    }
    try {
      const reply = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: objectKey,
          ...(range !== undefined ? { Range: rangeHeader(range) } : {}),
        }),
      );
      if (!reply.Body) throw s3Inconsistent("get", target, "the reply has no body");
      const bytes = await reply.Body.transformToByteArray();
      // A transfer cut short is a STORAGE_ERROR that a retry heals, not a
      // short object: the store itself says (Content-Length) the object is
      // whole. A stored object that really is short arrives with a matching
      // Content-Length, and the repository names it OBJECT_TRUNCATED.
      if (reply.ContentLength !== undefined && bytes.length !== reply.ContentLength) {
        throw s3Inconsistent(
          "get",
          target,
          `received ${bytes.length} of ${reply.ContentLength} bytes (transfer cut short)`,
        );
      }
      if (range === undefined) return bytes;
      const status = reply.$metadata.httpStatusCode;
      const ranged = rangedBytes({ status, contentRange: reply.ContentRange, bytes }, range);
      if (!(ranged instanceof Uint8Array)) throw s3Inconsistent("get", target, ranged.problem);
      return ranged;
    } catch (error) {
      if (isNotFound(error)) throw missing(key, this.location);
      // The range starts at or after the end: no bytes, as the contract says (never an error).
      if (range !== undefined && isRangeNotSatisfiable(error)) return new Uint8Array(0);
      throw s3Failure("get", target, error);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const info = await this.#head(key);
    return info ? { key, size: info.size } : undefined;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const target = { ...this.#target(), key: prefix || "(all)" };
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix: this.#root + prefix,
            ContinuationToken: token,
            MaxKeys: this.#listPageSize,
          }),
        );
      } catch (error) {
        throw s3Failure("list", target, error);
      }
      // A real listing always says whether it is truncated; a reply without
      // it is not a listing (and must never read as "no objects").
      if (typeof page.IsTruncated !== "boolean")
        throw s3Inconsistent("list", target, "the reply is not a listing");
      if (page.IsTruncated && !page.NextContinuationToken) {
        throw s3Inconsistent("list", target, "a truncated listing without a continuation token");
      }
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || !object.Key.startsWith(this.#root)) continue;
        const key = object.Key.slice(this.#root.length);
        if (key.split("/").some((segment) => segment.startsWith(TEMP_PREFIX))) continue;
        const modified = object.LastModified?.getTime();
        yield { key, size: object.Size ?? 0, ...(modified === undefined ? {} : { modifiedMs: modified }) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#objectKey(key) }));
    } catch (error) {
      if (isNotFound(error)) return;
      throw s3Failure("delete", this.#target(key, true), error);
    }
  }

  /** Aborts stale multipart uploads and removes stale probe objects (s3-housekeeping.ts). */
  cleanupInterrupted(olderThanMs: number, options: CleanupOptions = {}): Promise<number> {
    return cleanupInterruptedWrites(this.#store(), Date.now() - olderThanMs, options.dryRun === true);
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  async #putSingle(objectKey: string, data: Uint8Array, ifNoneMatch: boolean) {
    const md5 = createHash("md5").update(data).digest();
    const reply = await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: objectKey,
        Body: data,
        ContentLength: data.length,
        ContentMD5: md5.toString("base64"),
        ...(ifNoneMatch ? { IfNoneMatch: "*" } : {}),
      }),
    );
    const opaqueEtags =
      reply.ServerSideEncryption?.startsWith("aws:kms") === true || !!reply.SSECustomerAlgorithm;
    return { etag: unquote(reply.ETag), expectedEtags: [md5.toString("hex")], opaqueEtags };
  }

  /**
   * A put's reply is trusted only when its ETag is the MD5 of what was sent
   * (stores encrypting with KMS or customer keys use other ETags) and a HEAD
   * finds the object. Anything else is a store or proxy answering 200 for an
   * upload it did not keep whole; a short object it did keep is removed, so
   * nothing short stays visible.
   */
  async #verifyStored(
    key: string,
    size: number,
    reply: { etag: string | undefined; expectedEtags: readonly string[]; opaqueEtags: boolean },
  ): Promise<void> {
    const target = this.#target(key, true);
    if (!reply.opaqueEtags && (reply.etag === undefined || !reply.expectedEtags.includes(reply.etag))) {
      const stored = await this.#head(key);
      // Ours, but not what we sent: remove it unless another writer replaced it since.
      if (stored && reply.etag !== undefined && stored.etag === reply.etag)
        await deleteObject(this.#store(), this.#objectKey(key));
      throw s3Inconsistent(
        "put",
        target,
        `the store acknowledged the upload with ETag ${reply.etag ?? "(none)"}, not the MD5 of the ${size} bytes sent`,
      );
    }
    const stored = await this.#head(key);
    if (!stored)
      throw s3Inconsistent("put", target, "the store acknowledged the upload but has no such object");
    // Another size is another writer's object that replaced ours since (last
    // writer wins), unless the ETag cannot prove ours ever landed.
    if (stored.size !== size && reply.opaqueEtags) {
      throw s3Inconsistent("put", target, `the store holds ${stored.size} bytes, not the ${size} sent`);
    }
  }

  async #head(key: string): Promise<StoredInfo | undefined> {
    try {
      const reply = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#objectKey(key) }),
      );
      return { size: reply.ContentLength ?? 0, etag: unquote(reply.ETag) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw s3Failure("stat", this.#target(key), error);
    }
  }

  /** Probe once, on the first conditional put, unless the options said. */
  #supportsConditionalPut(): Promise<boolean> {
    if (this.#conditionalPut !== undefined) return Promise.resolve(this.#conditionalPut);
    this.#probe ??= probeConditionalPut(this.#store()).then(
      (supported) => (this.#conditionalPut = supported),
    );
    return this.#probe;
  }

  #store(): Bucket {
    return { client: this.#client, bucket: this.#bucket, root: this.#root, target: this.#target() };
  }

  #objectKey(key: string): string {
    validateKey(key);
    return this.#root + key;
  }

  #target(key?: string, write = false): S3Target {
    return { location: this.location, bucket: this.#bucket, ...(key !== undefined ? { key } : {}), write };
  }
}

function exists(key: string, location: string): LifeboatError {
  return new LifeboatError("STORAGE_ERROR", `object ${key} already exists in ${location}`, {
    details: { key, reason: "exists" },
  });
}

function missing(key: string, location: string): LifeboatError {
  return new LifeboatError("OBJECT_MISSING", `object ${key} is missing from ${location}`, {
    details: { key },
  });
}
