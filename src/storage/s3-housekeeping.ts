// What the S3 backend does besides moving objects: probing once whether the
// store honours conditional create, and cleaning up after interrupted writes
// (multipart uploads a killed process left open, probe objects a killed
// probe left behind).

import { randomBytes } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { isNotFound, isPreconditionFailed, s3CodeOf, s3Failure, type S3Target } from "./s3-errors.ts";

/** Names of probe objects: list() hides them, and no caller's key may have such a segment. */
import { TEMP_PREFIX } from "./backend.ts";

export { TEMP_PREFIX };

export interface Bucket {
  readonly client: S3Client;
  readonly bucket: string;
  /** The repository prefix, "" or ending in "/". */
  readonly root: string;
  readonly target: S3Target;
}

/**
 * Whether the store refuses a second `If-None-Match: *` put of one key (AWS S3
 * since 2024, MinIO) or ignores the header (s3rver, older compatible stores).
 * Any failure means "no": the fallback is always safe, only racy.
 */
export async function probeConditionalPut(store: Bucket): Promise<boolean> {
  const key = `${store.root}${TEMP_PREFIX}probe-${randomBytes(8).toString("hex")}`;
  const put = (ifNoneMatch: boolean) =>
    store.client.send(
      new PutObjectCommand({
        Bucket: store.bucket,
        Key: key,
        Body: new Uint8Array(0),
        ...(ifNoneMatch ? { IfNoneMatch: "*" } : {}),
      }),
    );
  try {
    await put(false);
    await put(true);
    return false;
  } catch (error) {
    return isPreconditionFailed(error);
  } finally {
    // Left behind only if this fails too; cleanupInterrupted() removes it then.
    await deleteObject(store, key).catch(() => {});
  }
}

/**
 * Abort multipart uploads under the prefix started before `cutoff` and remove
 * probe objects older than it; returns how many (with dryRun, only counts). A
 * store that cannot list uploads (NotImplemented, or no permission) has none to find.
 */
export async function cleanupInterruptedWrites(
  store: Bucket,
  cutoff: number,
  dryRun: boolean,
): Promise<number> {
  let found = 0;
  for (const upload of await staleUploads(store, cutoff)) {
    found++;
    if (dryRun) continue;
    try {
      await store.client.send(
        new AbortMultipartUploadCommand({ Bucket: store.bucket, Key: upload.key, UploadId: upload.id }),
      );
    } catch (error) {
      if (!isNotFound(error)) throw s3Failure("cleanup", store.target, error);
    }
  }
  const probes = await store.client
    .send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: store.root + TEMP_PREFIX }))
    .catch((error: unknown) => {
      throw s3Failure("cleanup", store.target, error);
    });
  for (const object of probes.Contents ?? []) {
    if (object.Key === undefined || (object.LastModified?.getTime() ?? 0) > cutoff) continue;
    found++;
    if (!dryRun) await deleteObject(store, object.Key);
  }
  return found;
}

/** Delete by full key; a missing object is not an error. */
export async function deleteObject(store: Bucket, objectKey: string): Promise<void> {
  try {
    await store.client.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: objectKey }));
  } catch (error) {
    if (!isNotFound(error))
      throw s3Failure("delete", { ...store.target, key: objectKey, write: true }, error);
  }
}

async function staleUploads(store: Bucket, cutoff: number): Promise<{ key: string; id: string }[]> {
  const stale: { key: string; id: string }[] = [];
  let keyMarker: string | undefined;
  let idMarker: string | undefined;
  do {
    let page;
    try {
      page = await store.client.send(
        new ListMultipartUploadsCommand({
          Bucket: store.bucket,
          Prefix: store.root,
          KeyMarker: keyMarker,
          UploadIdMarker: idMarker,
        }),
      );
    } catch (error) {
      // A store without the call, or credentials without s3:ListBucketMultipartUploads
      // (read-only ones): nothing to find, and no reason to fail `check` over housekeeping.
      if (s3CodeOf(error) === "NotImplemented" || s3CodeOf(error) === "AccessDenied") return stale;
      throw s3Failure("cleanup", store.target, error);
    }
    for (const upload of page.Uploads ?? []) {
      if (upload.Key && upload.UploadId && (upload.Initiated?.getTime() ?? 0) <= cutoff) {
        stale.push({ key: upload.Key, id: upload.UploadId });
      }
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    idMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
  } while (keyMarker !== undefined);
  return stale;
}
