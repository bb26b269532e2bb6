// Fingerprints of command sources. With a fingerprint command the facts are
// what it prints (JSON), checked strictly: a restore is proved by comparing
// these facts, so a malformed answer must be an error, never an empty pass.
// Without one, the fingerprint is the artifact's own size and SHA-256, taken
// from the very bytes stored (which proves the repository kept them, not
// that a restore of them worked).

import { createHash } from "node:crypto";
import type { Fingerprint } from "../../domain/fingerprint.ts";
import { LifeboatError, type ErrorCode } from "../../errors.ts";
import { redact } from "../../runtime/redact.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function kindOf(value: Json): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

function isPlainObject(value: Json): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Read a fingerprint command's output: `{"counts": {...}, "hashes": {...}}`
 * (either part may be left out) or a flat object whose numbers become counts
 * and whose strings become hashes. `code` is what a bad answer is:
 * SOURCE_TOOL_FAILED at capture (no snapshot), VERIFICATION_FAILED after a restore.
 */
export function parseFacts(output: string, what: string, code: ErrorCode): Fingerprint {
  const fail = (why: string): never => {
    throw new LifeboatError(code, `${what} ${why}`, {
      hint: 'Print one JSON object: {"counts": {"points": 1200}, "hashes": {"schema": "ab12..."}}, or a flat one such as {"points": 1200, "schema": "ab12..."}.',
    });
  };
  let value: Json;
  try {
    value = JSON.parse(output) as Json;
  } catch (error) {
    const shown = redact(output.trim().slice(0, 120));
    return fail(`did not print JSON (${(error as Error).message}); it printed: ${shown || "(nothing)"}`);
  }
  if (!isPlainObject(value)) return fail(`printed ${kindOf(value)}, not a JSON object of facts`);
  const keys = Object.keys(value);
  const structured =
    keys.length > 0 &&
    keys.every((key) => (key === "counts" || key === "hashes") && isPlainObject(value[key]!));
  const counts: Record<string, number> = {};
  const hashes: Record<string, string> = {};
  const take = (key: string, fact: Json, want?: "number" | "string") => {
    if (typeof fact === "number" && Number.isFinite(fact) && want !== "string") counts[key] = fact;
    else if (typeof fact === "string" && want !== "number") hashes[key] = fact;
    else
      fail(
        `printed ${kindOf(fact)} for "${key}"; a fact must be ${want ? `a ${want}` : "a number or a string"}`,
      );
  };
  if (structured) {
    const object = value as { counts?: Record<string, Json>; hashes?: Record<string, Json> };
    for (const [key, fact] of Object.entries(object.counts ?? {})) take(key, fact, "number");
    for (const [key, fact] of Object.entries(object.hashes ?? {})) take(key, fact, "string");
  } else {
    for (const [key, fact] of Object.entries(value)) take(key, fact);
  }
  if (Object.keys(counts).length + Object.keys(hashes).length === 0) {
    return fail("printed no facts (an empty object): a fingerprint of nothing proves nothing");
  }
  const fingerprint = { counts, hashes };
  // The fingerprint is stored in the snapshot and printed by reports: no secret may be in it.
  const text = JSON.stringify(fingerprint);
  if (redact(text) !== text) {
    return fail(
      "printed a credential or the value of a secret among its facts; print counts and hashes only",
    );
  }
  return fingerprint;
}

/** Counts and hashes the bytes of an artifact as they stream past, for the fingerprint without a command. */
export class ArtifactMeter {
  bytes = 0;
  private readonly hash = createHash("sha256");

  async *measure(data: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of data) {
      this.bytes += chunk.length;
      this.hash.update(chunk);
      yield chunk;
    }
  }

  /** Call once, after the stream ended. */
  fingerprint(): Fingerprint {
    return { counts: { bytes: this.bytes }, hashes: { artifact: this.hash.digest("hex") } };
  }
}
