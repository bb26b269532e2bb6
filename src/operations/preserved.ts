// Keeping what a restore replaces, undoing a restore, and removing a kept
// copy (domain/preserved.ts has the record and the fold). A restore asks the
// engine to keep the old target through RestoreOptions.preserve and records
// what it kept in its run record; an undo and a drop write run records that
// say what they released. Nothing here drops data except `drop`, and that
// only a copy the records name, through the engine, which refuses any name
// that is not a kept copy's.

import { outstandingPreserved, type PreservedRecord } from "../domain/preserved.ts";
import type { SourceConfig } from "../engines/config.ts";
import { LifeboatError } from "../errors.ts";
import type { OperationContext } from "./context.ts";
import { credentialFree, preserveFor, sameTarget } from "./preserve-request.ts";
import { preRestoreSourceName, restoreSnapshot } from "./restore.ts";
import { isRunRecord, recordRun } from "./run-record.ts";
import { withTempDir } from "./temp-dir.ts";

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
  options: {
    readonly dryRun: boolean;
    /** lifeboat.yaml's sources: a snapshot copy is restored back as its source's restore would be. */
    readonly sources: Readonly<Record<string, SourceConfig>>;
  },
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
  if (copy.kind === "snapshot") return undoFromSnapshot(context, target, copy, options);
  if (!engine.swapBack) {
    throw new LifeboatError(
      "PRESERVE_UNSUPPORTED",
      `the ${engine.name} engine cannot swap a kept copy back: ${copy.location} holds the old ${copy.note ?? "data"}; move it back by hand`,
    );
  }
  if (options.dryRun) return { restored: copy, keptAside: undefined, dryRun: true };
  // What is at the target now is kept aside and recorded even when the swap fails half-way.
  const aside = preserveFor(context, copy, "undo");
  await recordedUndo(context, copy, aside.kept, () =>
    withTempDir("undo", (tempDir) =>
      engine.swapBack!(target, copy, aside.request, {
        runner: context.runner,
        log: context.log,
        tempDir,
        ...(context.signal ? { signal: context.signal } : {}),
      }),
    ),
  );
  return { restored: copy, keptAside: aside.kept[0], dryRun: false };
}

/**
 * Run an undo and keep its run record whatever happens: the copies it kept
 * aside (`kept`, filled as they are made), and `copy` released only when
 * the undo completed.
 */
async function recordedUndo(
  context: OperationContext,
  copy: PreservedRecord,
  kept: readonly PreservedRecord[],
  body: () => Promise<unknown>,
): Promise<void> {
  const startedAt = context.now();
  let failure: unknown;
  try {
    await body();
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    await recordRun(context, {
      operation: "undo",
      source: copy.source,
      startedAt,
      preserved: { kept, released: failure === undefined ? [copy.id] : [] },
      ...(failure !== undefined ? { error: failure } : {}),
    });
  }
}

/**
 * Undo a restore whose engine kept the old target as a snapshot (Redis,
 * NATS): restore that snapshot over the target, keeping what is there now as
 * a snapshot in turn; the snapshot restored back is then forgotten, as a
 * renamed copy stops existing once it is the target again.
 */
async function undoFromSnapshot(
  context: OperationContext,
  target: string,
  copy: PreservedRecord,
  options: { readonly dryRun: boolean; readonly sources: Readonly<Record<string, SourceConfig>> },
): Promise<UndoResult> {
  const source = options.sources[copy.source];
  if (!source) {
    throw new LifeboatError(
      "UNKNOWN_SOURCE",
      `the copy ${copy.id} is a snapshot of source ${copy.source}, which lifeboat.yaml no longer declares`,
      {
        hint: `Restore it by hand: \`lifeboat restore ${preRestoreSourceName(copy.source)} --snapshot ${copy.location.slice(0, 8)} --to TARGET --clean --target-not-source\`.`,
      },
    );
  }
  const engine = context.engineFor(copy.engine);
  const replacing = Object.fromEntries(
    engine.restoreFlags.filter((flag) => flag.replacesTarget).map((flag) => [flag.name, true]),
  );
  const aside: PreservedRecord[] = [];
  const restoreBack = () =>
    restoreSnapshot(context, {
      sourceName: preRestoreSourceName(copy.source),
      source,
      selector: copy.location,
      target,
      options: replacing,
      dryRun: options.dryRun,
      preserve: true,
      onKept: (kept) => aside.push({ ...kept, source: copy.source, by: "undo" }),
    });
  if (options.dryRun) await restoreBack();
  else await recordedUndo(context, copy, aside, restoreBack);
  if (!options.dryRun) await context.repository.forgetSnapshot(copy.location);
  return { restored: copy, keptAside: aside[0], dryRun: options.dryRun };
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
  if (copy.kind === "snapshot") {
    await dropPreservedSnapshot(context, copy);
    return copy;
  }
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

/** A kept snapshot is forgotten (its data goes at the next prune); only a pre-restore one. */
async function dropPreservedSnapshot(context: OperationContext, copy: PreservedRecord): Promise<void> {
  const startedAt = context.now();
  const snapshot = await context.repository.findSnapshot(copy.location, preRestoreSourceName(copy.source));
  if (!snapshot.tags.includes("pre-restore")) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `snapshot ${copy.location.slice(0, 8)} is not one a restore kept`,
    );
  }
  await context.repository.forgetSnapshot(snapshot.id);
  await recordRun(context, {
    operation: "discard",
    source: copy.source,
    startedAt,
    preserved: { kept: [], released: [copy.id] },
  });
}
