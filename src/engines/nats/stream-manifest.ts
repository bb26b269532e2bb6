// The small JSON artifact a capture writes last (`streams.json`): every
// captured stream's config and state at its snapshot, its durable consumers'
// configs and positions, how its facts were established, and the artifact
// holding its snapshot. Restore reads it first to know what to send where.

import type { ConsumerConfig, StreamConfig, StreamState } from "@nats-io/jetstream";
import { LifeboatError } from "../../errors.ts";
import type { ArtifactSource } from "../engine.ts";
import type { StreamFacts } from "./facts.ts";

export const manifestArtifact = "streams.json";
export const manifestFormat = 1;

export function snapshotArtifact(stream: string): string {
  return `stream-${stream}.snapshot`;
}

export interface CapturedStream {
  readonly name: string;
  readonly artifact: string;
  readonly config: StreamConfig;
  /** The state the server reported when the snapshot began. */
  readonly state: StreamState;
  readonly consumers: readonly { readonly name: string; readonly config: ConsumerConfig }[];
  /** The facts the fingerprint holds for this stream. */
  readonly facts: StreamFacts;
  /**
   * "quiet": nothing changed from just before the snapshot to just after it, so the source's own
   * reading is the snapshot's. "restored copy": the stream moved, so the facts were read from the
   * snapshot restored into a throwaway local server.
   */
  readonly measured: "quiet" | "restored copy";
  /** This machine's clock just before the snapshot: everything committed earlier is in it. */
  readonly takenAt: string;
}

export interface StreamManifest {
  readonly format: number;
  readonly streams: readonly CapturedStream[];
}

export async function readManifest(artifacts: ArtifactSource): Promise<StreamManifest> {
  const parts: Buffer[] = [];
  for await (const part of artifacts.open(manifestArtifact)) parts.push(Buffer.from(part as Uint8Array));
  let manifest: StreamManifest;
  try {
    manifest = JSON.parse(Buffer.concat(parts).toString("utf8")) as StreamManifest;
  } catch (error) {
    throw new LifeboatError("VERIFICATION_FAILED", `the snapshot's ${manifestArtifact} is not JSON`, {
      cause: error,
    });
  }
  if (manifest.format !== manifestFormat || !Array.isArray(manifest.streams)) {
    throw new LifeboatError(
      "VERIFICATION_FAILED",
      `the snapshot's ${manifestArtifact} has format ${String(manifest.format)}, this Lifeboat reads format ${manifestFormat}`,
    );
  }
  return manifest;
}
