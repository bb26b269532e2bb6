// Reading an artifact's chunks with few requests. A backup writes an
// artifact's new chunks one after another into its packs, so a restore finds
// runs of chunks lying back to back in one pack: each run (up to
// MAX_SPAN_BYTES) is fetched with one ranged GET instead of a GET per chunk
// (restic likewise reads a pack's blobs in one request). Every chunk is
// still authenticated and re-hashed on its own, and a chunk that fails is
// read again by itself (ObjectStore.readChunk reads it twice), since damage
// in transit looks like damage at rest.

import { isLifeboatError } from "../errors.ts";
import type { ChunkIndex } from "./chunk-index.ts";
import { packKey } from "./layout.ts";
import type { ObjectStore } from "./object-store.ts";

/** The largest byte range one request fetches: a few chunks, few enough to bound memory. */
export const MAX_SPAN_BYTES = 4 * 1024 * 1024;
/**
 * And the most plaintext one span decodes to: a dump compresses four to one,
 * so a span capped by stored bytes alone would hold 16 MiB of plaintext and a
 * restore reading several data files at once would multiply it.
 */
export const MAX_SPAN_PLAIN_BYTES = 4 * 1024 * 1024;

/** Chunks read together: a run of envelopes back to back in one pack, or one chunk read by itself. */
export interface ChunkSpan {
  readonly ids: readonly string[];
  /** Plaintext bytes the span decodes to, where the index says (0 for a chunk read by itself). */
  readonly plainBytes: number;
  /** Absent: read each chunk by itself (format 1, or a chunk no index names). */
  readonly range?: {
    readonly key: string;
    readonly offset: number;
    readonly length: number;
    /** Each chunk's envelope: offset from the range's start, and length. */
    readonly parts: readonly { readonly offset: number; readonly length: number }[];
  };
}

/** Group `ids` (in stream order) into spans. */
export function planSpans(ids: readonly string[], index: ChunkIndex | undefined): ChunkSpan[] {
  const spans: ChunkSpan[] = [];
  let run:
    | {
        ids: string[];
        pack: string;
        offset: number;
        end: number;
        plain: number;
        parts: { offset: number; length: number }[];
      }
    | undefined;
  const close = () => {
    if (!run) return;
    const { ids: runIds, pack, offset, end, plain, parts } = run;
    spans.push({
      ids: runIds,
      plainBytes: plain,
      range: { key: packKey(pack), offset, length: end - offset, parts },
    });
    run = undefined;
  };
  for (const id of ids) {
    const location = index?.lookup(id);
    if (!location) {
      close();
      spans.push({ ids: [id], plainBytes: 0 });
      continue;
    }
    const extends_ =
      run !== undefined &&
      run.pack === location.pack &&
      run.end === location.offset &&
      location.offset + location.length - run.offset <= MAX_SPAN_BYTES &&
      run.plain + location.plainLength <= MAX_SPAN_PLAIN_BYTES;
    if (!extends_) {
      close();
      run = {
        ids: [],
        pack: location.pack,
        offset: location.offset,
        end: location.offset,
        plain: 0,
        parts: [],
      };
    }
    run!.plain += location.plainLength;
    run!.ids.push(id);
    run!.parts.push({ offset: location.offset - run!.offset, length: location.length });
    run!.end = location.offset + location.length;
  }
  close();
  return spans;
}

/** The plaintexts of a span's chunks, in order, each verified. */
export async function readSpan(store: ObjectStore, span: ChunkSpan): Promise<Buffer[]> {
  const { range } = span;
  if (!range) return Promise.all(span.ids.map((id) => store.readChunk(id)));
  let bytes: Uint8Array | undefined;
  try {
    bytes = await store.get(range.key, { offset: range.offset, length: range.length });
  } catch (error) {
    if (!isLifeboatError(error)) throw error;
    bytes = undefined; // each chunk, read by itself, names what is wrong
  }
  const fetched = bytes;
  return Promise.all(
    span.ids.map(async (id, position) => {
      const part = range.parts[position]!;
      if (fetched && fetched.length >= part.offset + part.length) {
        // A copy: the worker takes its bytes over.
        const envelope = fetched.slice(part.offset, part.offset + part.length);
        try {
          return await store.openPackedChunk(range.key, range.offset + part.offset, id, envelope);
        } catch (error) {
          if (!isLifeboatError(error, "CHECKSUM_MISMATCH") && !isLifeboatError(error, "OBJECT_TRUNCATED"))
            throw error;
        }
      }
      return store.readChunk(id); // short or damaged in the span: read it again, by itself
    }),
  );
}
