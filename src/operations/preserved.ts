// Keeping what a restore replaces, undoing a restore, and removing a kept
// copy (domain/preserved.ts has the record and the fold). A restore asks the
// engine to keep the old target through RestoreOptions.preserve and records
// what it kept in its run record; an undo and a drop write run records that
// say what they released. Nothing here drops data except `drop`, and that
// only a copy the records name, through the engine, which refuses any name
// that is not a kept copy's.

import { randomBytes } from "node:crypto";
import {
  outstandingPreserved,
  preserveStamp,
  type PreservedCopy,
  type PreservedRecord,
} from "../domain/preserved.ts";
import type { PreserveRequest } from "../engines/engine.ts";
import { LifeboatError } from "../errors.ts";
import type { OperationContext } from "./context.ts";
import { isRunRecord, recordRun } from "./run-record.ts";
import { withTempDir } from "./temp-dir.ts";

/** A target as records keep it: a URL without its password (paths as they are). */
export function credentialFree(target: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) return target;
  const url = URL.parse(target);
  if (!url) return target;
  url.password = "";
  url.searchParams.delete("password");
  return url.toString();
}

/** The same target however it is written: credentials, a trailing slash and letter case of the scheme aside. */
function sameTarget(a: string, b: string): boolean {
  const normal = (target: string) => credentialFree(target).replace(/\/+$/, "");
  return normal(a) === normal(b);
}

/** What a restore passes to the engine, and the records of what the engine kept. */
export function preserveFor(
  context: OperationContext,
  about: { readonly source: string; readonly engine: string; readonly target: string },
  by: PreservedRecord["by"] = "restore",
): { readonly request: PreserveRequest; readonly kept: PreservedRecord[] } {
  const at = context.now();
  const kept: PreservedRecord[] = [];
  const request: PreserveRequest = {
    stamp: preserveStamp(at),
    kept: (copy) => kept.push(recordOf(copy, about, at, by)),
  };
  return { request, kept };
}

function recordOf(
  copy: PreservedCopy,
  about: { readonly source: string; readonly engine: string; readonly target: string },
  at: Date,
  by: PreservedRecord["by"],
): PreservedRecord {
  return {
    id: randomBytes(4).toString("hex"),
    source: about.source,
    engine: about.engine,
    target: credentialFree(about.target),
    keptAt: at.toISOString(),
    by,
    ...copy,
  };
}

/** The kept copies no undo or drop has released, oldest first (from every host's run records). */
export async function listPreserved(context: OperationContext): Promise<PreservedRecord[]> {
  const ids = await context.repository.listRunRecordIds();
  const records = (await context.repository.readRunRecords(ids)).filter(isRunRecord);
  return outstandingPreserved(records);
}

export interface UndoResult {
  /** The copy that is the target again. */
  readonly restored: PreservedRecord;
  /** What was at the target, now kept aside (undefined: the target was gone). */
  readonly keptAside: PreservedRecord | undefined;
  readonly dryRun: boolean;
}

/** `restore --undo TARGET`: the newest copy kept beside TARGET goes back; what is there now is kept aside. */
export async function undoRestore(
  context: OperationContext,
  target: string,
  options: { readonly dryRun: boolean },
): Promise<UndoResult> {
  const candidates = (await listPreserved(context)).filter((copy) => sameTarget(copy.target, target));
  const copy = candidates.at(-1);
  if (!copy) {
    throw new LifeboatError(
      "PRESERVED_MISSING",
      `no restore into ${credentialFree(target)} kept a copy to undo to`,
      {
        details: { target: credentialFree(target) },
        hint: "`lifeboat preserved` lists the copies kept, with their targets; give --undo the target exactly as it is listed.",
      },
    );
  }
  const engine = context.engineFor(copy.engine);
  if (!engine.swapBack) {
    throw new LifeboatError(
      "PRESERVE_UNSUPPORTED",
      `the ${engine.name} engine cannot swap a kept copy back: ${copy.location} holds the old ${copy.note ?? "data"}; move it back by hand`,
    );
  }
  if (options.dryRun) return { restored: copy, keptAside: undefined, dryRun: true };
  const startedAt = context.now();
  // What is at the target now is kept aside and recorded even when the swap fails half-way.
  const aside = preserveFor(context, copy, "undo");
  let swapped = false;
  let failure: unknown;
  try {
    await withTempDir("undo", (tempDir) =>
      engine.swapBack!(target, copy, aside.request, {
        runner: context.runner,
        log: context.log,
        tempDir,
        ...(context.signal ? { signal: context.signal } : {}),
      }),
    );
    swapped = true;
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    const preserved = { kept: aside.kept, released: swapped ? [copy.id] : [] };
    await recordRun(context, {
      operation: "restore",
      source: copy.source,
      startedAt,
      preserved,
      ...(failure !== undefined ? { error: failure } : {}),
    });
  }
  return { restored: copy, keptAside: aside.kept[0], dryRun: false };
}

/** `preserved drop ID`: remove one kept copy (through its engine) and record that it is gone. */
export async function dropPreservedCopy(
  context: OperationContext,
  id: string,
  options: { readonly dryRun: boolean },
): Promise<PreservedRecord> {
  const copy = (await listPreserved(context)).find((candidate) => candidate.id === id);
  if (!copy) {
    throw new LifeboatError("PRESERVED_MISSING", `no kept copy has the id ${id}`, {
      details: { id },
      hint: "`lifeboat preserved` lists the kept copies and their ids.",
    });
  }
  if (options.dryRun) return copy;
  const engine = context.engineFor(copy.engine);
  if (!engine.dropPreserved) {
    throw new LifeboatError(
      "PRESERVE_UNSUPPORTED",
      `the ${engine.name} engine cannot remove ${copy.location}`,
    );
  }
  const startedAt = context.now();
  try {
    await withTempDir("drop", (tempDir) =>
      engine.dropPreserved!(copy.target, copy, {
        runner: context.runner,
        log: context.log,
        tempDir,
        ...(context.signal ? { signal: context.signal } : {}),
      }),
    );
  } catch (error) {
    await recordRun(context, { operation: "discard", source: copy.source, startedAt, error });
    throw error;
  }
  await recordRun(context, {
    operation: "discard",
    source: copy.source,
    startedAt,
    preserved: { kept: [], released: [copy.id] },
  });
  return copy;
}
