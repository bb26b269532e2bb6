import assert from "node:assert/strict";
import { test } from "node:test";
import type { Snapshot } from "../domain/snapshot.ts";
import type { TargetIdentity, TargetState } from "../engines/engine.ts";
import { engineFor } from "../engines/registry.ts";
import { isLifeboatError } from "../errors.ts";
import { planRestore, type RestorePlanInput } from "./restore.ts";

const snapshot = (engine: string): Snapshot => ({
  id: "ab".repeat(32),
  source: "app",
  engine,
  startedAt: "2026-01-01T00:00:00.000Z",
  finishedAt: "2026-01-01T00:00:01.000Z",
  consistentAt: "2026-01-01T00:00:00.000Z",
  hostname: "h",
  lifeboatVersion: "0.1.0",
  artifacts: [{ name: "a", size: 10, sha256: "cd".repeat(32), chunks: ["ef".repeat(32)] }],
  engineMeta: {},
  fingerprint: { counts: { "rows:public.t": 1 }, hashes: {} },
  tags: [],
});
const different: TargetIdentity = { verdict: "different", reason: "different system identifiers" };
const empty: TargetState = {
  exists: false,
  empty: true,
  description: "database app_restored on 127.0.0.1:5432",
};
const full: TargetState = {
  exists: true,
  empty: false,
  description: "database app on 127.0.0.1:5432 (3 tables)",
};

function plan(engine: string, overrides: Partial<RestorePlanInput> = {}) {
  return planRestore({
    snapshot: snapshot(engine),
    engine: engineFor(engine),
    target: "t",
    targetState: empty,
    identity: different,
    options: {},
    targetNotSource: false,
    ...overrides,
  });
}

test("an option another engine owns is refused by the plan, so --dry-run refuses it too", () => {
  assert.throws(
    () => plan("postgres", { options: { force: true } }),
    (error) =>
      isLifeboatError(error, "BAD_ARGUMENT") &&
      /--force is not an option of the postgres engine/.test(error.message) &&
      /--clean, --globals/.test(error.hint),
  );
  assert.throws(
    () => plan("files", { options: { clean: true } }),
    (error) => isLifeboatError(error, "BAD_ARGUMENT") && /--clean/.test(error.message),
  );
  assert.doesNotThrow(() => plan("sqlite", { options: { clean: true } }));
});

test("a non-empty target needs the engine's own replacing flag, and the hint names it", () => {
  assert.throws(
    () => plan("postgres", { targetState: full, options: { globals: true } }),
    (error) =>
      isLifeboatError(error, "TARGET_NOT_EMPTY") && /--clean/.test(error.hint) && !/--force/.test(error.hint),
  );
  assert.throws(
    () => plan("files", { targetState: full }),
    (error) => isLifeboatError(error, "TARGET_NOT_EMPTY") && /--force/.test(error.hint),
  );
  assert.equal(plan("postgres", { targetState: full, options: { clean: true } }).replacesExisting, true);
});

test("the source itself is always refused; an unproven target only with --target-not-source", () => {
  assert.throws(
    () =>
      plan("postgres", {
        identity: { verdict: "same", reason: "same system identifier" },
        targetNotSource: true,
      }),
    (error) => isLifeboatError(error, "TARGET_IS_SOURCE"),
  );
  const unknown: TargetIdentity = { verdict: "unknown", reason: "the role may not read pg_control_system()" };
  assert.throws(
    () => plan("postgres", { identity: unknown }),
    (error) => isLifeboatError(error, "TARGET_IDENTITY_UNKNOWN") && /pg_control_system/.test(error.message),
  );
  const steps = plan("postgres", { identity: unknown, targetNotSource: true }).steps;
  assert.match(steps[0]!, /identity is unproven \(--target-not-source\)/);
});

test("the steps say the copy is verified before it replaces anything, in readable words", () => {
  const steps = plan("postgres").steps;
  assert.deepEqual(steps.slice(1), [
    `restore snapshot abababab (postgres) into a partial copy beside the target`,
    "fingerprint the partial copy and compare with the snapshot's fingerprint (a mismatch discards it)",
    "create database app_restored on 127.0.0.1:5432 with the verified copy",
  ]);
  const dropping = plan("postgres", { targetState: full, options: { clean: true } }).steps;
  assert.match(dropping.at(-2)!, /^replace database app on/);
  assert.match(dropping.at(-1)!, /^drop the current target's data \(--no-preserve/);
});

const preserve = { stamp: "20261203_141500", kept: () => {} };

test("a restore that keeps what it replaces says where, and how to get it back", () => {
  const steps = plan("postgres", { targetState: full, options: { clean: true, preserve } }).steps;
  assert.equal(
    steps.at(-1),
    "keep the current target aside under a pre_restore_20261203_141500 name (`lifeboat restore --undo` swaps it back)",
  );
  // Nothing is replaced, so nothing is kept: no step about it.
  assert.ok(!plan("postgres", { options: { preserve } }).steps.some((step) => /pre_restore/.test(step)));
});

test("an engine that cannot keep what it replaces refuses to replace a full target unless told to drop it", () => {
  assert.throws(
    () => plan("redis", { targetState: full, options: { clean: true, preserve } }),
    (error: unknown) => isLifeboatError(error, "PRESERVE_UNSUPPORTED"),
  );
  assert.ok(plan("redis", { targetState: full, options: { clean: true } }).replacesExisting);
  assert.ok(!plan("redis", { options: { clean: true, preserve } }).replacesExisting);
});
