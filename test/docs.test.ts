// The generated documents must match the code they describe.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { renderConfigJsonSchema, renderErrorTable } from "../scripts/docs-render.ts";
import { READ_AHEAD } from "../src/repository/artifact-source.ts";
import { MAX_SPAN_BYTES } from "../src/repository/chunk-reads.ts";
import { LEFTOVER_AGE_MS } from "../src/repository/check.ts";
import { SCRYPT_LIMITS } from "../src/repository/key-files.ts";
import {
  DEFAULT_REFRESH_EVERY_MS,
  DEFAULT_STALE_AFTER_MS,
  LIST_SETTLE_MS,
  LOCK_RETRY_FIRST_DELAY_MS,
  LOCK_RETRY_MAX_DELAY_MS,
  MAX_CLOCK_SKEW_MS,
} from "../src/repository/locks.ts";
import { UPLOADS_IN_FLIGHT } from "../src/repository/chunk-destination.ts";
import { CHUNKS_IN_FLIGHT } from "../src/repository/writer.ts";
import { DEFAULT_PACK_SIZE, PACK_UPLOADS_IN_FLIGHT } from "../src/repository/pack-destination.ts";
import { PACKS_PER_INDEX_OBJECT } from "../src/repository/prune-work.ts";
import { DEFAULT_REPACK_THRESHOLD } from "../src/plan/prune.ts";

test("docs/config.schema.json is up to date (run `npm run docs`)", async () => {
  assert.equal(
    await readFile(new URL("../docs/config.schema.json", import.meta.url), "utf8"),
    renderConfigJsonSchema(),
  );
});

test("docs/errors.md is up to date (run `npm run docs`)", async () => {
  assert.equal(await readFile(new URL("../docs/errors.md", import.meta.url), "utf8"), renderErrorTable());
});

// docs/repository-format.md and docs/storage.md state the code's constants in
// prose; these tests read the constants from the code, so the two cannot drift.

const prose = async (name: string) =>
  (await readFile(new URL(`../docs/${name}`, import.meta.url), "utf8")).replace(/\s+/g, " ");

function assertStates(doc: string, statement: string): void {
  assert.ok(doc.includes(statement), `the doc should say "${statement}"`);
}

test("repository-format.md states the in-flight limits, the leftover age and the scrypt bounds of the code", async () => {
  const doc = await prose("repository-format.md");
  assertStates(doc, `at most ${UPLOADS_IN_FLIGHT} uploads in flight`);
  assertStates(doc, `at most ${CHUNKS_IN_FLIGHT} chunks between the chunker and their destination`);
  assertStates(doc, `(${PACK_UPLOADS_IN_FLIGHT} pack upload in flight)`);
  assertStates(doc, `absent means ${DEFAULT_PACK_SIZE / 1024 ** 2} MiB`);
  assertStates(doc, `at most ${PACKS_PER_INDEX_OBJECT.toLocaleString("en")} packs each`);
  assertStates(doc, `(\`--repack-threshold\`, default ${DEFAULT_REPACK_THRESHOLD * 100} %)`);
  assertStates(doc, `while ${CHUNKS_IN_FLIGHT} are in the works`);
  assertStates(doc, `up to ${READ_AHEAD} spans ahead`);
  assertStates(doc, `up to ${MAX_SPAN_BYTES / 1024 ** 2} MiB, fetched with one`);
  assertStates(doc, `older than ${LEFTOVER_AGE_MS / 60_000} minutes`);
  assertStates(doc, `N = 2..2^${Math.log2(SCRYPT_LIMITS.maxN)}`);
  assertStates(doc, `r = 1..${SCRYPT_LIMITS.maxR}`);
  assertStates(doc, `p = 1..${SCRYPT_LIMITS.maxP}`);
  assertStates(doc, `128·N·r ≤ ${SCRYPT_LIMITS.maxMemoryBytes / 1024 ** 3} GiB`);
});

test("repository-format.md names the real check flags and no prune that does not exist", async () => {
  const doc = await prose("repository-format.md");
  const main = await readFile(new URL("../src/cli/main.ts", import.meta.url), "utf8");
  for (const flag of ["--read-data", "--read-data-subset"]) {
    assert.ok(main.includes(`"${flag}`), `main.ts has no ${flag}`);
    assertStates(doc, flag);
  }
  assert.ok(!doc.includes("--read-data["), "the doc names a flag syntax the CLI does not have");
  if (!/command\("prune"\)/.test(main)) {
    assert.ok(
      !/removed by prune|Prune \(exclusive lock\) deletes/.test(doc),
      "the doc describes a prune that does not exist",
    );
    assertStates(doc, "there is no prune command yet");
  } else {
    assertStates(doc, "Prune (exclusive lock) deletes");
    assertStates(doc, "PRUNE_DAMAGED_MANIFEST");
  }
});

test("storage.md states the lock lease and listing settle times of the code", async () => {
  const doc = await prose("storage.md");
  assertStates(doc, `not refreshed for ${DEFAULT_STALE_AFTER_MS / 60_000} minutes`);
  assertStates(doc, `refresh every ${DEFAULT_REFRESH_EVERY_MS / 60_000} minutes`);
  assertStates(doc, `waits ${LIST_SETTLE_MS / 1000} seconds`);
  assertStates(doc, `maximum clock skew of ${MAX_CLOCK_SKEW_MS / 60_000} minutes`);
  assertStates(doc, `backoff from ${LOCK_RETRY_FIRST_DELAY_MS / 1000} second`);
  assertStates(doc, `up to ${LOCK_RETRY_MAX_DELAY_MS / 1000} seconds`);
});
