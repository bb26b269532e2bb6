// Memory of the large buffers the chunk pipeline makes, handled on purpose.
// V8 frees an ArrayBuffer only when a GC runs, and it runs one only after
// tens of MB of them have piled up, per thread: with a few threads each
// churning 1–4 MiB chunks, that garbage was most of a backup's memory. A
// buffer we own and are done with is released at once instead, and buffers
// cross threads by transfer, not by copy, where that is safe.

/** Below this size a copy costs less than thinking about ownership (and Node's pooled buffers are smaller). */
const SMALL = 64 * 1024;

/**
 * `bytes` ready to post without a second copy: its ArrayBuffer is transferred
 * when `bytes` is the bulk of it (the caller must own it and never touch it
 * again); small views (Node's pooled buffers among them, which cannot be
 * transferred) and views into much larger buffers are copied instead.
 */
export function forTransfer(bytes: Uint8Array): { bytes: Uint8Array; transfer: ArrayBuffer[] } {
  const buffer = bytes.buffer;
  if (buffer instanceof ArrayBuffer && bytes.byteLength >= SMALL && bytes.byteLength * 2 >= buffer.byteLength)
    return { bytes, transfer: [buffer] };
  const copy = new Uint8Array(bytes);
  return { bytes: copy, transfer: [copy.buffer] };
}

/** A view over the whole of its ArrayBuffer: freeing it frees nothing another view still uses. */
export function ownsItsMemory(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}

/**
 * Free the memory behind `bytes` now rather than at the next GC. Only for a
 * buffer the caller owns outright and that no other view still uses: every
 * view of it becomes empty. Small views are left to the GC: they may be
 * slices of one of Node's shared pools (which V8 refuses to detach anyway).
 */
export function discard(bytes: Uint8Array | undefined): void {
  const buffer = bytes?.buffer;
  if (!(buffer instanceof ArrayBuffer) || buffer.detached || bytes!.byteLength < SMALL) return;
  try {
    buffer.transfer(0);
  } catch {
    // Not detachable (a buffer Node keeps for itself): the GC will have it.
  }
}
