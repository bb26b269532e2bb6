// Multipart upload for objects above the backend's threshold (packs of tens
// of MiB later; v1 chunks stay below it). S3 makes the object visible only
// when CompleteMultipartUpload succeeds, so the contract holds: on any
// failure the upload is aborted and nothing appears under the key. An abort
// that fails too (the store is down) leaves parts that are invisible to
// readers and that cleanupInterrupted() aborts later.
//
// A failed part fails the whole put: RetryingBackend retries the put, and
// there is no second retry layer here.

import { createHash } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { s3Inconsistent, type S3Target } from "./s3-errors.ts";

/** Parts uploaded at once per object. */
const PARTS_IN_FLIGHT = 4;
/** S3's smallest part (all but the last). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

export interface MultipartRequest {
  readonly client: S3Client;
  readonly bucket: string;
  /** The full object key (with the repository prefix). */
  readonly objectKey: string;
  readonly data: Uint8Array;
  readonly partSize: number;
  /** Send If-None-Match: * on completion (the store honours it). */
  readonly ifNoneMatch: boolean;
  readonly target: S3Target;
}

export interface MultipartResult {
  /** The ETag the store gave the completed object. */
  readonly etag: string | undefined;
  /**
   * What that ETag may be when the store uses MD5 ETags: S3's MD5 of the part
   * MD5s, "-", part count; some compatible stores (s3rver) use the MD5 of the
   * whole object instead.
   */
  readonly expectedEtags: readonly string[];
  /** The store encrypts with KMS or customer keys: its ETags are not MD5s. */
  readonly opaqueEtags: boolean;
}

export async function uploadMultipart(request: MultipartRequest): Promise<MultipartResult> {
  const { client, bucket, objectKey, data, target } = request;
  let uploadId: string | undefined;
  try {
    const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: objectKey }));
    uploadId = created.UploadId;
    if (!uploadId)
      throw s3Inconsistent("put (multipart)", target, "the store started an upload without an id");
    const opaqueEtags =
      created.ServerSideEncryption?.startsWith("aws:kms") === true || !!created.SSECustomerAlgorithm;
    const partCount = Math.max(1, Math.ceil(data.length / request.partSize));
    const etags: string[] = new Array<string>(partCount);
    const digests: Buffer[] = new Array<Buffer>(partCount);
    let next = 0;
    const worker = async (id: string) => {
      while (next < partCount) {
        const index = next++;
        const body = data.subarray(
          index * request.partSize,
          Math.min(data.length, (index + 1) * request.partSize),
        );
        const md5 = createHash("md5").update(body).digest();
        digests[index] = md5;
        const reply = await client.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: objectKey,
            UploadId: id,
            PartNumber: index + 1,
            Body: body,
            ContentLength: body.length,
            ContentMD5: md5.toString("base64"),
          }),
        );
        const etag = unquote(reply.ETag);
        if (etag === undefined || (!opaqueEtags && etag !== md5.toString("hex"))) {
          throw s3Inconsistent(
            "put (multipart)",
            target,
            `part ${index + 1} was acknowledged with ETag ${etag ?? "(none)"}, not the MD5 of its bytes`,
          );
        }
        etags[index] = etag;
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARTS_IN_FLIGHT, partCount) }, () => worker(uploadId!)));
    const completed = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: objectKey,
        UploadId: uploadId,
        MultipartUpload: {
          Parts: etags.map((etag, index) => ({ ETag: `"${etag}"`, PartNumber: index + 1 })),
        },
        ...(request.ifNoneMatch ? { IfNoneMatch: "*" } : {}),
      }),
    );
    uploadId = undefined; // completed: nothing to abort
    const expectedEtags = [
      `${createHash("md5").update(Buffer.concat(digests)).digest("hex")}-${partCount}`,
      createHash("md5").update(data).digest("hex"),
    ];
    return { etag: unquote(completed.ETag), expectedEtags, opaqueEtags };
  } catch (error) {
    if (uploadId !== undefined) {
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: objectKey, UploadId: uploadId }))
        .catch(() => {}); // cleanupInterrupted() aborts it later
    }
    throw error; // the caller maps it (a 412 on completion means "exists")
  }
}

export function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^W\//, "").replace(/"/g, "");
}
