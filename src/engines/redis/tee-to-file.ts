// Pass a stream on while writing every chunk to a private file too, with
// backpressure from both: the capture fingerprints the spooled RDB, the
// restore verifies it, while the bytes flow on to the repository or the
// target server.

import { once } from "node:events";
import type { WriteStream } from "node:fs";
import type { Readable } from "node:stream";

export async function* teeToFile(stream: Readable, file: WriteStream): AsyncGenerator<Buffer> {
  let failed: Error | undefined;
  // Errors of the spool (a full disk) stop the transfer; after a failure elsewhere it is destroyed mid-write.
  file.on("error", (error) => (failed ??= error));
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (failed) throw failed;
    if (!file.write(chunk)) await once(file, "drain");
    yield chunk;
  }
  file.end();
  await once(file, "finish");
  if (failed) throw failed;
}
