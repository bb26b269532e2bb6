// Decoding the aws-chunked body of a SigV4 streaming upload
// (x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD), which S3
// strips before storing. restic's S3 client (minio-go) signs every PUT over
// plain HTTP this way, and s3rver accepts the header but stores the framing
// with the data, so restic would read back its own chunk headers and fail
// ("Unmarshal: invalid character 'b'"). The counting proxy decodes such
// bodies on their way to s3rver, making it behave as S3 does. s3rver does not
// verify SigV4 signatures, so the chunk signatures are dropped unchecked.
//
// Framing: `<hex size>;chunk-signature=<sig>\r\n<size bytes>\r\n` repeated,
// ending with a chunk of size 0.

import { Transform, type TransformCallback } from "node:stream";

export const STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";

export class AwsChunkedDecoder extends Transform {
  #pending: Buffer = Buffer.alloc(0);
  /** Data bytes left in the current chunk; -1 while reading a chunk header. */
  #left = -1;
  /** The CRLF after a chunk's data is still to be skipped. */
  #trailer = false;
  #done = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    try {
      this.#drain();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    callback(this.#done ? null : new Error("aws-chunked body ended before its final zero-size chunk"));
  }

  #drain(): void {
    while (this.#pending.length > 0 && !this.#done) {
      if (this.#trailer) {
        if (this.#pending.length < 2) return;
        this.#pending = this.#pending.subarray(2);
        this.#trailer = false;
      } else if (this.#left < 0) {
        const end = this.#pending.indexOf("\r\n");
        if (end === -1) return;
        const size = parseInt(this.#pending.subarray(0, end).toString("latin1").split(";")[0]!, 16);
        if (!Number.isFinite(size)) throw new Error("aws-chunked body has a malformed chunk header");
        this.#pending = this.#pending.subarray(end + 2);
        this.#left = size;
        if (size === 0) this.#done = true;
      } else {
        const take = Math.min(this.#left, this.#pending.length);
        this.push(this.#pending.subarray(0, take));
        this.#pending = this.#pending.subarray(take);
        this.#left -= take;
        if (this.#left === 0) {
          this.#left = -1;
          this.#trailer = true;
        }
      }
    }
  }
}

/** The headers a decoded upload is forwarded with: its real length, an unsigned payload. */
export function decodedHeaders(headers: Record<string, string | string[] | undefined>) {
  const out = { ...headers };
  out["content-length"] = String(headers["x-amz-decoded-content-length"] ?? "");
  out["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
  delete out["x-amz-decoded-content-length"];
  delete out["transfer-encoding"];
  const encoding = String(headers["content-encoding"] ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "" && part !== "aws-chunked");
  if (encoding.length > 0) out["content-encoding"] = encoding.join(", ");
  else delete out["content-encoding"];
  return out;
}
