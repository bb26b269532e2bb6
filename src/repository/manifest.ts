// The manifest: a snapshot serialised as JSON (docs/repository-format.md,
// "Manifests"). Field order is fixed here, so the same snapshot always has
// the same bytes and thus the same id.

import { createHash } from "node:crypto";
import { z } from "zod";
import type { ArtifactRef, Snapshot, SnapshotDraft } from "../domain/snapshot.ts";
import { tooNew } from "./config-file.ts";
import { objectError } from "./envelope.ts";
import { snapshotKey } from "./layout.ts";

/**
 * The manifest's own version. Repository format 2 changed how chunks are
 * stored, not manifests: they stay version 1, so `migrate` keeps every
 * snapshot id.
 */
export const MANIFEST_VERSION = 1;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

const manifestSchema = z.object({
  formatVersion: z.number().int().positive(),
  source: z.string(),
  // Any name: a manifest written by an engine this build lacks must still list.
  engine: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  consistentAt: z.string(),
  hostname: z.string(),
  lifeboatVersion: z.string(),
  artifacts: z.array(
    z.object({
      name: z.string(),
      size: z.number().int().nonnegative(),
      sha256: hex64,
      chunks: z.array(hex64),
    }),
  ),
  engineMeta: z.record(z.string(), z.unknown()),
  fingerprint: z.object({
    counts: z.record(z.string(), z.number()),
    hashes: z.record(z.string(), z.string()),
  }),
  tags: z.array(z.string()),
  original: hex64.optional(),
});

export function encodeManifest(draft: SnapshotDraft, artifacts: readonly ArtifactRef[]): Buffer {
  const manifest = {
    formatVersion: MANIFEST_VERSION,
    source: draft.source,
    engine: draft.engine,
    startedAt: draft.startedAt,
    finishedAt: draft.finishedAt,
    consistentAt: draft.consistentAt,
    hostname: draft.hostname,
    lifeboatVersion: draft.lifeboatVersion,
    artifacts: artifacts.map((a) => ({ name: a.name, size: a.size, sha256: a.sha256, chunks: a.chunks })),
    engineMeta: draft.engineMeta,
    fingerprint: { counts: draft.fingerprint.counts, hashes: draft.fingerprint.hashes },
    tags: draft.tags,
    // Only when set: a manifest backup wrote keeps exactly its bytes, and so its id.
    ...(draft.original !== undefined ? { original: draft.original } : {}),
  };
  return Buffer.from(JSON.stringify(manifest), "utf8");
}

/**
 * The manifest of `snapshot` with other tags (`lifeboat tag`): the same
 * contents, these tags sorted and unique, and `original` naming the first
 * manifest (the snapshot's own `original` when it has one). Its id is known
 * before anything is written, so a dry run can name it.
 */
export function retaggedManifest(
  snapshot: Snapshot,
  tags: readonly string[],
): { readonly id: string; readonly bytes: Buffer } {
  const { id, artifacts, ...draft } = snapshot;
  const bytes = encodeManifest(
    { ...draft, tags: [...new Set(tags)].sort(), original: snapshot.original ?? id },
    artifacts,
  );
  return { id: createHash("sha256").update(bytes).digest("hex"), bytes };
}

/** Parse verified manifest bytes; a manifest that does not fit the schema is an error naming it. */
export function decodeManifest(id: string, plaintext: Buffer): Snapshot {
  const object = snapshotKey(id);
  let raw: unknown;
  try {
    raw = JSON.parse(plaintext.toString("utf8"));
  } catch (error) {
    throw objectError("CHECKSUM_MISMATCH", object, "manifest is not valid JSON", error);
  }
  const version = (raw as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version === "number" && version > MANIFEST_VERSION)
    throw tooNew(object, version, MANIFEST_VERSION);
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw objectError(
      "CHECKSUM_MISMATCH",
      object,
      `manifest does not match the v${MANIFEST_VERSION} schema (${issue?.path.join(".")}: ${issue?.message})`,
    );
  }
  const { formatVersion: _version, original, ...snapshot } = parsed.data;
  return { id, ...snapshot, ...(original !== undefined ? { original } : {}) };
}
