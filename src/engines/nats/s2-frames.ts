// A structural check of a JetStream snapshot's bytes. The server sends an
// S2-compressed tar in the Snappy framing format: a stream identifier chunk,
// then chunks of `type (1 byte) + length (3 bytes, little endian) + body`.
// nats-server before 2.10 ends a snapshot with the same empty message
// whether it finished or gave up, so a transfer cut off mid-chunk would
// otherwise look complete. This check sees such a cut (not a damaged body:
// the server's restore checks the CRCs, and the fingerprint the result).

import { LifeboatError } from "../../errors.ts";

/** The S2 stream identifier chunk: type 0xff, length 6, "S2sTwO". */
const streamIdentifier = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x53, 0x32, 0x73, 0x54, 0x77, 0x4f]);

export class S2FrameCheck {
  #seen = 0;
  /** Bytes of the current chunk's header read so far (up to 4). */
  #header: number[] = [];
  /** Body bytes still to come for the current chunk. */
  #remaining = 0;
  #chunks = 0;

  readonly #label: string;

  constructor(label: string) {
    this.#label = label;
  }

  feed(bytes: Uint8Array): void {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.#seen < streamIdentifier.length) {
        if (bytes[offset] !== streamIdentifier[this.#seen])
          throw this.#broken("does not start with an S2 stream identifier");
        this.#seen++;
        offset++;
        continue;
      }
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, bytes.length - offset);
        this.#remaining -= take;
        offset += take;
        continue;
      }
      this.#header.push(bytes[offset]!);
      offset++;
      if (this.#header.length === 4) {
        const [, low, middle, high] = this.#header as [number, number, number, number];
        this.#remaining = low | (middle << 8) | (high << 16);
        this.#header = [];
        this.#chunks++;
      }
    }
  }

  /** The stream ended: it must end on a chunk boundary, after the identifier. */
  end(): void {
    if (this.#seen < streamIdentifier.length) throw this.#broken("is empty or shorter than its S2 header");
    if (this.#remaining > 0 || this.#header.length > 0)
      throw this.#broken("ends in the middle of a chunk (cut off)");
  }

  get chunks(): number {
    return this.#chunks;
  }

  #broken(why: string): LifeboatError {
    return new LifeboatError("SOURCE_TOOL_FAILED", `the snapshot of ${this.#label} ${why}`, {
      hint: "The NATS server's snapshot transfer was incomplete; run the backup again and check the server's log.",
    });
  }
}
