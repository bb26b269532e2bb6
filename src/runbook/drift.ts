// What a runbook check reports, and what every check is given. A drift is a
// place where the runbook says one thing and the deployed system another
// (docs/runbooks.md lists every kind); a marker that cannot be checked at all
// is a drift too, never a crash: a runbook nobody can verify has drifted.

import type { GroupConfig } from "../config/group-schema.ts";
import type { ScheduleConfig } from "../config/schedule-schema.ts";
import type { Objectives } from "../config/source-fields.ts";
import type { Marker } from "./markers.ts";

export interface Drift {
  /** The runbook file, as it was named on the command line. */
  readonly file: string;
  /** 1-based line: of the marker, or of the block line or table row the drift is about. */
  readonly line: number;
  readonly kind: DriftKind;
  /** The marker's text after `DR-CHECK:`. */
  readonly marker: string;
  readonly message: string;
  /** What the runbook says (null when it says nothing relevant). */
  readonly runbook: string | null;
  /** What is deployed or declared (null when nothing was found). */
  readonly deployed: string | null;
}

export type DriftKind =
  | "marker-malformed"
  | "marker-unknown-key"
  | "marker-orphan"
  | "config-unavailable"
  | "manifest-missing"
  | "manifest-invalid"
  | "cronjob-missing"
  | "script-differs"
  | "program-missing"
  | "subcommand-missing"
  | "invocation-differs"
  | "command-invalid"
  | "source-unknown"
  | "source-not-named"
  | "module-missing"
  | "callable-missing"
  | "table-invalid"
  | "objective-differs"
  | "objective-missing"
  | "objective-undeclared"
  | "schedule-differs"
  | "schedule-missing"
  | "schedule-undeclared";

/** One lifeboat command line as the real CLI would parse it (implemented in cli/, which this layer may not import). */
export type CommandLineParse =
  | {
      readonly ok: false;
      readonly problem: string;
      /** The subcommand path read before the problem ("" when none was). */
      readonly command: string;
      /** How that command is used, e.g. "lifeboat ls [options] <snapshot> [path]". */
      readonly usage: string;
    }
  | {
      readonly ok: true;
      /** The subcommand path, e.g. "runbook check". */
      readonly command: string;
      /** Whether the command has an argument or option that names sources or groups. */
      readonly takesSource: boolean;
      /** The values given to those arguments and options, in order. */
      readonly sources: readonly string[];
    };

/** Parse the words after `lifeboat` against the real command tree; never runs anything. */
export type CommandLineCheck = (argv: readonly string[]) => CommandLineParse;

/** The parts of lifeboat.yaml the checks compare against (a loaded Config satisfies it). */
export interface DeclaredConfig {
  readonly sources: Readonly<Record<string, { readonly objectives?: Objectives | undefined }>>;
  readonly groups: Readonly<Record<string, GroupConfig>>;
  readonly schedules: Readonly<Record<string, ScheduleConfig>>;
}

/** Where files named by markers are read from: paths are relative to --root. */
export interface RunbookFiles {
  /** The file's text, or undefined when there is no such file. */
  read(relativePath: string): Promise<string | undefined>;
  /** Root-relative paths of files with this base name, nearest first (bounded walk). */
  find(baseName: string): Promise<string[]>;
}

export interface CheckContext {
  readonly files: RunbookFiles;
  /** The loaded config, or why it could not be loaded. */
  readonly config:
    { readonly ok: true; readonly value: DeclaredConfig } | { readonly ok: false; readonly problem: string };
  readonly commandLine: CommandLineCheck;
}

/** A drift found by a check, before the file and marker are stamped on it. */
export type Finding = Omit<Drift, "file" | "marker" | "line" | "runbook" | "deployed"> & {
  readonly line?: number;
  readonly runbook?: string | null;
  readonly deployed?: string | null;
};

/** One kind of check: what a marker of its kind proves about its governed node. */
export type Check = (marker: Marker, context: CheckContext) => Promise<Finding[]>;
