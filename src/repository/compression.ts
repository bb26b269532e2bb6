// The payload inside an envelope: one compression byte, then the data
// (docs/repository-format.md, "Envelope"). zstd runs through node:zlib's
// async API, so compression of several chunks proceeds in parallel on
// libuv's thread pool while the main thread chunks and hashes.

import { promisify } from "node:util";
import { constants, zstdCompress, zstdDecompress } from "node:zlib";
import { objectError } from "./envelope.ts";

const compressAsync = promisify(zstdCompress);
const decompressAsync = promisify(zstdDecompress);

export const STORED = 0;
export const ZSTD = 1;

/** Level 1: nearly the ratio of the default level at almost twice the speed, on a path that competes with the source tool for CPU. */
const LEVEL = 1;
const SAMPLE_SLICE = 16 * 1024;
/** A sample must shrink below this share of its size for the whole chunk to be compressed. */
const SAMPLE_WORTH_IT = 0.98;

/**
 * zlib hands output back to the main thread one `chunkSize` piece at a time
 * (16 KiB by default): 64 callbacks per MiB, which showed up as a tenth of a
 * backup's main-thread time. One output buffer the size of the input (plus
 * zstd's worst-case growth) makes it a single callback.
 */
function outputSize(length: number): number {
  return Math.max(64 * 1024, length + (length >> 7) + 1024);
}

function compress(data: Uint8Array): Promise<Buffer> {
  return compressAsync(data, {
    chunkSize: outputSize(data.length),
    params: { [constants.ZSTD_c_compressionLevel]: LEVEL },
  });
}

/**
 * Three slices of a large chunk are compressed first: already-compressed or
 * encrypted data (images, .gz files) then skips compression entirely, so
 * incompressible data does not cost a full zstd pass.
 */
async function looksCompressible(data: Buffer): Promise<boolean> {
  if (data.length <= 4 * SAMPLE_SLICE) return true;
  const middle = Math.floor(data.length / 2);
  const sample = Buffer.concat([
    data.subarray(0, SAMPLE_SLICE),
    data.subarray(middle, middle + SAMPLE_SLICE),
    data.subarray(data.length - SAMPLE_SLICE),
  ]);
  return (await compress(sample)).length < sample.length * SAMPLE_WORTH_IT;
}

/** Payload parts for `seal`: the compression byte and the (maybe compressed) data, whichever is smaller. */
export async function encodePayload(data: Buffer, options: { sample: boolean }): Promise<Uint8Array[]> {
  if (data.length > 0 && (!options.sample || (await looksCompressible(data)))) {
    const compressed = await compress(data);
    if (compressed.length < data.length) return [Uint8Array.of(ZSTD), compressed];
  }
  return [Uint8Array.of(STORED), data];
}

/** The data of a payload; `maxLength` guards against a decompression bomb in a damaged object. */
export async function decodePayload(objectKey: string, payload: Buffer, maxLength: number): Promise<Buffer> {
  if (payload.length < 1)
    throw objectError("CHECKSUM_MISMATCH", objectKey, "payload has no compression byte");
  const data = payload.subarray(1);
  if (payload[0] === STORED) return data;
  if (payload[0] !== ZSTD)
    throw objectError("CHECKSUM_MISMATCH", objectKey, `unknown compression ${payload[0]}`);
  try {
    return await decompressAsync(data, { maxOutputLength: maxLength, chunkSize: outputSize(Math.min(maxLength, data.length * 8)) });
  } catch (error) {
    throw objectError("CHECKSUM_MISMATCH", objectKey, "zstd data cannot be decompressed", error);
  }
}
