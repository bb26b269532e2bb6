// Artifact sink and source held in memory, so engine tests can run a capture
// and a restore against real services without a repository in between. The
// repository's own tests cover chunking, encryption and verification.

import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { Readable } from "node:stream";
import type { ArtifactSink, ArtifactSource } from "../../src/engines/engine.ts";
import type { ArtifactRef } from "../../src/domain/snapshot.ts";
import { LifeboatError } from "../../src/errors.ts";

export class MemoryArtifacts implements ArtifactSink, ArtifactSource {
  readonly stored = new Map<string, Buffer>();
  readonly artifacts: ArtifactRef[] = [];

  async write(name: string, data: Readable | AsyncIterable<Uint8Array>): Promise<ArtifactRef> {
    if (this.stored.has(name)) throw new LifeboatError("INTERNAL", `artifact ${name} written twice`);
    const parts: Buffer[] = [];
    for await (const part of data) parts.push(Buffer.from(part as Uint8Array));
    const bytes = Buffer.concat(parts);
    this.stored.set(name, bytes);
    const ref: ArtifactRef = {
      name,
      size: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      chunks: [],
    };
    this.artifacts.push(ref);
    return ref;
  }

  open(name: string): Readable {
    const bytes = this.stored.get(name);
    if (!bytes) throw new LifeboatError("OBJECT_MISSING", `artifact ${name} is missing`);
    return Readable.from([bytes]);
  }

  async saveTo(name: string, path: string): Promise<void> {
    const bytes = this.stored.get(name);
    if (!bytes) throw new LifeboatError("OBJECT_MISSING", `artifact ${name} is missing`);
    await writeFile(path, bytes);
  }
}

/**
 * Reads back like MemoryArtifacts, except that the artifact named `corrupt`
 * fails verification: its stream after half its bytes (as a damaged chunk
 * does mid-stream), and saveTo at once.
 */
export class CorruptArtifacts extends MemoryArtifacts {
  corrupt = "";

  override open(name: string): Readable {
    if (name !== this.corrupt) return super.open(name);
    const bytes = this.stored.get(name)!;
    return Readable.from(
      (async function* () {
        yield bytes.subarray(0, Math.floor(bytes.length / 2));
        throw new LifeboatError("CHECKSUM_MISMATCH", `chunk 5e1f... of artifact ${name} failed verification`);
      })(),
    );
  }

  override async saveTo(name: string, path: string): Promise<void> {
    if (name === this.corrupt) {
      throw new LifeboatError("CHECKSUM_MISMATCH", `chunk 5e1f... of artifact ${name} failed verification`);
    }
    return super.saveTo(name, path);
  }
}
