// Payload encoding round-trips at every size, tiny ones included: zlib
// refuses an output buffer below 64 bytes, and a chunk (an artifact's last
// one, a small file) can decode to less than that.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodePayload, decodePayloadSync, encodePayloadSync, ZSTD } from "./compression.ts";

const key = "data/ab/ab00";
const max = 4 * 1024 * 1024;

describe("payload compression", () => {
  it("round-trips compressible data of every size from 1 to 300 bytes, sync and async", async () => {
    let compressed = 0;
    for (let size = 1; size <= 300; size++) {
      const data = Buffer.alloc(size, "ab");
      const [marker, body] = encodePayloadSync(Buffer.from(data), { sample: true });
      if (marker![0] === ZSTD) compressed++;
      const payload = Buffer.concat([marker!, body!]);
      assert.deepEqual(decodePayloadSync(key, payload, max), data, `size ${size} (sync)`);
      assert.deepEqual(await decodePayload(key, payload, max), data, `size ${size} (async)`);
    }
    // The sizes below zlib's 64-byte minimum buffer are among those stored compressed.
    assert.ok(compressed > 280, `only ${compressed} of 300 sizes were compressed`);
    assert.equal(encodePayloadSync(Buffer.alloc(20, "ab"), { sample: true })[0]![0], ZSTD);
  });
});
