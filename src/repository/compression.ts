// The payload inside an envelope: one compression byte, then the data
// (docs/repository-format.md, "Envelope"). Chunks are encoded with the sync
// functions inside the codec workers (codec-worker.ts), off the main thread;
// manifests and documents use the async ones, which run on libuv's pool.

import { promisify } from "node:util";
import { constants, zstdCompress, zstdCompressSync, zstdDecompress, zstdDecompressSync } from "node:zlib";
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

function compressOptions(length: number) {
  return { chunkSize: outputSize(length), params: { [constants.ZSTD_c_compressionLevel]: LEVEL } };
}

function compress(data: Uint8Array): Promise<Buffer> {
  return compressAsync(data, compressOptions(data.length));
}

function compressSync(data: Uint8Array): Buffer {
  return zstdCompressSync(data, compressOptions(data.length));
}

function sampleOf(data: Buffer): Buffer | undefined {
  if (data.length <= 4 * SAMPLE_SLICE) return undefined;
  const middle = Math.floor(data.length / 2);
  return Buffer.concat([
    data.subarray(0, SAMPLE_SLICE),
    data.subarray(middle, middle + SAMPLE_SLICE),
    data.subarray(data.length - SAMPLE_SLICE),
  ]);
}

/**
 * Three slices of a large chunk are compressed first: already-compressed or
 * encrypted data (images, .gz files) then skips compression entirely, so
 * incompressible data does not cost a full zstd pass.
 */
async function looksCompressible(data: Buffer): Promise<boolean> {
  const sample = sampleOf(data);
  return sample === undefined || (await compress(sample)).length < sample.length * SAMPLE_WORTH_IT;
}

function looksCompressibleSync(data: Buffer): boolean {
  const sample = sampleOf(data);
  return sample === undefined || compressSync(sample).length < sample.length * SAMPLE_WORTH_IT;
}

/** Payload parts for `seal`: the compression byte and the (maybe compressed) data, whichever is smaller. */
export async function encodePayload(data: Buffer, options: { sample: boolean }): Promise<Uint8Array[]> {
  if (data.length > 0 && (!options.sample || (await looksCompressible(data)))) {
    const compressed = await compress(data);
    if (compressed.length < data.length) return [Uint8Array.of(ZSTD), compressed];
  }
  return [Uint8Array.of(STORED), data];
}

/** encodePayload on the calling thread, for the codec workers. */
export function encodePayloadSync(data: Buffer, options: { sample: boolean }): Uint8Array[] {
  if (data.length > 0 && (!options.sample || looksCompressibleSync(data))) {
    const compressed = compressSync(data);
    if (compressed.length < data.length) return [Uint8Array.of(ZSTD), compressed];
  }
  return [Uint8Array.of(STORED), data];
}

function checkCompressionByte(objectKey: string, payload: Buffer): void {
  if (payload.length < 1)
    throw objectError("CHECKSUM_MISMATCH", objectKey, "payload has no compression byte");
  if (payload[0] !== STORED && payload[0] !== ZSTD)
    throw objectError("CHECKSUM_MISMATCH", objectKey, `unknown compression ${payload[0]}`);
}

function decompressOptions(maxLength: number, compressedLength: number) {
  return { maxOutputLength: maxLength, chunkSize: outputSize(Math.min(maxLength, compressedLength * 8)) };
}

/** The data of a payload; `maxLength` guards against a decompression bomb in a damaged object. */
export async function decodePayload(objectKey: string, payload: Buffer, maxLength: number): Promise<Buffer> {
  checkCompressionByte(objectKey, payload);
  const data = payload.subarray(1);
  if (payload[0] === STORED) return data;
  try {
    return await decompressAsync(data, decompressOptions(maxLength, data.length));
  } catch (error) {
    throw objectError("CHECKSUM_MISMATCH", objectKey, "zstd data cannot be decompressed", error);
  }
}

/**
 * The decompressed size a zstd frame header declares (zstd records it when
 * the whole input is compressed at once, as here), or undefined. Only a hint
 * for the output buffer: the frame is still checked as it is decompressed.
 */
function declaredSize(frame: Buffer): number | undefined {
  if (frame.length < 6 || frame.readUInt32LE(0) !== 0xfd2fb528) return undefined;
  const descriptor = frame[4]!;
  const sizeFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const at = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 3]!;
  const width = [singleSegment, 2, 4, 8][sizeFlag]!;
  if (width === 0 || frame.length < at + width) return undefined;
  if (width === 1) return frame[at]!;
  if (width === 2) return frame.readUInt16LE(at) + 256;
  if (width === 4) return frame.readUInt32LE(at);
  return Number(frame.readBigUInt64LE(at));
}

/** decodePayload on the calling thread, for the codec workers. */
export function decodePayloadSync(objectKey: string, payload: Buffer, maxLength: number): Buffer {
  checkCompressionByte(objectKey, payload);
  const data = payload.subarray(1);
  if (payload[0] === STORED) return data;
  // One output buffer of exactly the declared size: no copy out of a larger one, no stitching of pieces.
  // zlib refuses a chunkSize below Z_MIN_CHUNK (64): a tiny chunk gets a buffer of that size instead.
  const declared = declaredSize(data);
  const options =
    declared !== undefined && declared > 0 && declared <= maxLength
      ? { maxOutputLength: maxLength, chunkSize: Math.max(constants.Z_MIN_CHUNK, declared) }
      : decompressOptions(maxLength, data.length);
  try {
    return zstdDecompressSync(data, options);
  } catch (error) {
    throw objectError("CHECKSUM_MISMATCH", objectKey, "zstd data cannot be decompressed", error);
  }
}
