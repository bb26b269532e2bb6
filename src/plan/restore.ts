// Planning a restore is a pure function of what we know: the snapshot, the
// engine's declared options and capabilities, the target's identity and
// state, and the flags. The same plan drives --dry-run output and the real
// run, so a dry run shows exactly what a real run would do and refuses
// exactly what a real run would refuse.

import { totalSize, type Snapshot } from "../domain/snapshot.ts";
import type {
  Engine,
  PartialRestoreKind,
  RestoreFlagName,
  RestoreSelection,
  RestoreOptions,
  TargetIdentity,
  TargetState,
} from "../engines/engine.ts";
import { LifeboatError } from "../errors.ts";

/** The flag that lets a restore proceed when the target's identity cannot be established. */
export const targetNotSourceFlag = "--target-not-source";

export interface RestorePlan {
  readonly snapshot: string;
  readonly source: string;
  readonly target: string;
  readonly targetState: TargetState;
  readonly identity: TargetIdentity;
  /** Human-readable steps, in order. */
  readonly steps: readonly string[];
  /** True when existing data at the target will be replaced. */
  readonly replacesExisting: boolean;
}

export type PlannedEngine = Pick<Engine, "name" | "restoreFlags" | "capabilities" | "restoreGuarantee">;

export interface RestorePlanInput {
  readonly snapshot: Snapshot;
  readonly engine: PlannedEngine;
  /** The target as the user named it, safe to print (no password). */
  readonly target: string;
  readonly targetState: TargetState;
  readonly identity: TargetIdentity;
  readonly options: RestoreOptions;
  /** The user declared the target is not the source (--target-not-source). */
  readonly targetNotSource: boolean;
  /**
   * How the target's current data can be kept when options.preserve asks:
   * renamed aside by the engine, captured as a snapshot first, or not at all.
   * Default: "rename" when the engine declares preservesReplaced, else "none".
   */
  readonly preservation?: Preservation;
}

export type Preservation = "rename" | "snapshot" | "none";

const flagNames: readonly RestoreFlagName[] = ["clean", "force", "globals"];

export function planRestore(input: RestorePlanInput): RestorePlan {
  const { snapshot, engine, target, targetState, identity, options } = input;
  refuseForeignFlags(engine, options);
  refuseUnsupportedSelection(engine, options.selection);
  if (identity.verdict === "same") {
    throw new LifeboatError(
      "TARGET_IS_SOURCE",
      `${target} is the source ${snapshot.source} itself (${identity.reason})`,
      {
        details: { target, source: snapshot.source, reason: identity.reason },
      },
    );
  }
  if (identity.verdict === "unknown" && !input.targetNotSource) {
    throw new LifeboatError(
      "TARGET_IDENTITY_UNKNOWN",
      `cannot prove that ${target} is not the source ${snapshot.source}: ${identity.reason}`,
      { details: { target, source: snapshot.source, reason: identity.reason } },
    );
  }
  const replacing = engine.restoreFlags.filter((flag) => flag.replacesTarget && options[flag.name]);
  if (targetState.exists && !targetState.empty && replacing.length === 0) {
    const flags = engine.restoreFlags.filter((flag) => flag.replacesTarget).map((flag) => `--${flag.name}`);
    throw new LifeboatError("TARGET_NOT_EMPTY", `target ${targetState.description} is not empty`, {
      details: { target },
      hint: `Restore into a new or empty target, or pass ${flags.join(" or ")} to replace what is there.`,
    });
  }
  const replacesExisting = targetState.exists && !targetState.empty;
  const preservation = input.preservation ?? (engine.capabilities.preservesReplaced ? "rename" : "none");
  if (replacesExisting && options.preserve && preservation === "none") {
    throw new LifeboatError(
      "PRESERVE_UNSUPPORTED",
      `target ${targetState.description} is not empty, and the ${engine.name} engine cannot keep what a restore replaces`,
      { details: { target } },
    );
  }
  const bytes = totalSize(snapshot);
  const chunks = new Set(snapshot.artifacts.flatMap((artifact) => artifact.chunks)).size;
  // An existing empty target is replaced too (its owner and settings kept where the engine can).
  const into = targetState.exists
    ? `replace ${targetState.description}`
    : `create ${targetState.description}`;
  const keep = keepStep(replacesExisting, options, preservation);
  // A snapshot of the old data is taken before the restore starts; a rename happens at the swap.
  const keepFirst = preservation === "snapshot";
  const steps = [
    ...(keepFirst ? keep : []),
    ...(identity.verdict === "unknown"
      ? [`proceed although the target's identity is unproven (${targetNotSourceFlag}): ${identity.reason}`]
      : []),
    ...(options.selection
      ? [
          `restore only ${describeSelection(options.selection)}, ${
            options.selection.tables?.length || options.selection.schemas?.length
              ? "with what they need to exist"
              : "fetching only the byte ranges they need"
          }, and verify what is restored against the snapshot's fingerprint`,
        ]
      : [`fetch and verify ${snapshot.artifacts.length} artifact(s), ${bytes} bytes in ${chunks} chunk(s)`]),
    ...(engine.capabilities.atomicSwap
      ? [
          `restore snapshot ${snapshot.id.slice(0, 8)} (${snapshot.engine}) into a partial copy beside the target`,
          "fingerprint the partial copy and compare with the snapshot's fingerprint (a mismatch discards it)",
          `${into} with the verified copy`,
          ...(keepFirst ? [] : keep),
        ]
      : [
          `restore snapshot ${snapshot.id.slice(0, 8)} (${snapshot.engine}) into the target: ${into}`,
          `fingerprint the target and compare with the snapshot's fingerprint (${engine.restoreGuarantee ?? "no swap: the target is written in place"})`,
          ...(keepFirst ? [] : keep),
        ]),
  ];
  return {
    snapshot: snapshot.id,
    source: snapshot.source,
    target,
    targetState,
    identity,
    steps,
    replacesExisting,
  };
}

/** What happens to the data a restore replaces: kept (and how to get it back) or dropped. */
function keepStep(replacesExisting: boolean, options: RestoreOptions, preservation: Preservation): string[] {
  if (!replacesExisting) return [];
  if (options.preserve && preservation === "snapshot")
    return [
      "first capture the current target as a snapshot tagged pre-restore (`lifeboat restore --undo` restores it back)",
    ];
  return options.preserve
    ? [
        `keep the current target aside under a pre_restore_${options.preserve.stamp} name (\`lifeboat restore --undo\` swaps it back)`,
      ]
    : ["drop the current target's data (--no-preserve: nothing of it is kept)"];
}

/** "tables billing.invoices, billing.customers" / "paths matching img/2024/** except *.tmp". */
export function describeSelection(selection: RestoreSelection): string {
  const parts: string[] = [];
  if (selection.tables?.length) parts.push(`tables ${selection.tables.join(", ")}`);
  if (selection.schemas?.length) parts.push(`every table of schema ${selection.schemas.join(", ")}`);
  if (selection.include?.length || selection.exclude?.length) {
    const include = selection.include?.length ? `matching ${selection.include.join(", ")}` : "";
    const exclude = selection.exclude?.length ? `except ${selection.exclude.join(", ")}` : "";
    parts.push(["paths", include, exclude].filter(Boolean).join(" "));
  }
  if (selection.noForeignKeys) parts.push("(foreign keys to tables not chosen left out)");
  return parts.join(" and ");
}

/** --include/--exclude need an engine restoring paths, --table/--schema one restoring tables. */
function refuseUnsupportedSelection(engine: PlannedEngine, selection: RestoreSelection | undefined): void {
  if (!selection) return;
  const offered = engine.capabilities.partialRestore;
  const wants: { kind: PartialRestoreKind; flags: string }[] = [];
  if (selection.include?.length || selection.exclude?.length)
    wants.push({ kind: "paths", flags: "--include/--exclude" });
  if (selection.tables?.length || selection.schemas?.length || selection.noForeignKeys)
    wants.push({ kind: "tables", flags: "--table/--schema/--no-foreign-keys" });
  for (const { kind, flags } of wants) {
    if (offered.includes(kind)) continue;
    const other = offered.includes("paths")
      ? "it restores parts of a tree with --include and --exclude"
      : offered.includes("tables")
        ? "it restores chosen tables with --table and --schema"
        : "it restores whole snapshots only";
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `${flags}: the ${engine.name} engine cannot restore ${kind} on their own; ${other}`,
      {
        details: { engine: engine.name, partialRestore: offered },
      },
    );
  }
}

/** A flag the engine does not declare is refused up front, by --dry-run and the real run alike. */
function refuseForeignFlags(engine: PlannedEngine, options: RestoreOptions): void {
  const declared = new Set(engine.restoreFlags.map((flag) => flag.name));
  const foreign = flagNames.filter((name) => options[name] && !declared.has(name));
  if (foreign.length === 0) return;
  const own = engine.restoreFlags.map((flag) => `--${flag.name}`).join(", ") || "none";
  throw new LifeboatError(
    "BAD_ARGUMENT",
    `${foreign.map((name) => `--${name}`).join(", ")} ${foreign.length === 1 ? "is not an option" : "are not options"} of the ${engine.name} engine`,
    {
      hint: `The ${engine.name} engine's restore options: ${own}.`,
      details: { engine: engine.name, foreign },
    },
  );
}
