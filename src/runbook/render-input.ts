// What `lifeboat runbook render` writes a runbook from: lifeboat.yaml as the
// renderer needs it, with every location already stripped of credentials, the
// alert rules the objectives give (report/alerts.ts, passed in by the CLI so
// this layer stays a peer of report/), and the deployed CronJobs when a
// manifest folder is given.

import type { Objectives } from "../config/source-fields.ts";

export interface RunbookSource {
  readonly name: string;
  readonly engine: string;
  /** Where the data lives, without credentials: "postgres://app@db:5432/app", "/srv/uploads". */
  readonly location: string;
  readonly objectives: Objectives;
  /** Base backups plus a WAL archive: point-in-time recovery is possible. */
  readonly pitr: boolean;
  readonly partialRestore: readonly ("paths" | "tables")[];
  /** The restore flags the engine takes (clean, force, globals). */
  readonly restoreFlags: readonly { readonly name: string; readonly description: string }[];
  /** The engine's own words when it cannot swap a restore into place atomically. */
  readonly restoreGuarantee: string | undefined;
  /** The drill's checks, in words ("sql: select count(*) > 0 from orders"). */
  readonly checks: readonly string[];
  /** An example restore target in the engine's own form, for the prose. */
  readonly targetExample: string;
}

export interface RunbookSchedule {
  readonly name: string;
  /** "0 2 * * *" or "every 6h", as declared. */
  readonly when: string;
  readonly timezone: string | undefined;
  /** The lifeboat arguments it runs, e.g. ["backup", "app-db"]. */
  readonly args: readonly string[];
}

export interface RunbookAlert {
  readonly alert: string;
  readonly summary: string;
  readonly for: string | undefined;
}

export interface RunbookCronJob {
  readonly name: string;
  /** Relative to the runbook check's --root, as the DR-CHECK marker names it. */
  readonly manifest: string;
  /** The container's command line, as `runbook check` compares it. */
  readonly script: string;
  /** The container has args only: the image's entrypoint (lifeboat) runs them. */
  readonly entrypoint: boolean;
}

export interface RunbookInput {
  /** The repository URL without credentials. */
  readonly repository: string;
  readonly sources: readonly RunbookSource[];
  readonly groups: readonly { readonly name: string; readonly sources: readonly string[] }[];
  readonly schedules: readonly RunbookSchedule[];
  readonly alerts: readonly RunbookAlert[];
  /** Rules left out because an objective they need is not declared, in words. */
  readonly alertsSkipped: readonly string[];
  readonly cronJobs: readonly RunbookCronJob[];
  /** `-c PATH` for every command when the config is not found by default; undefined otherwise. */
  readonly configArgument: string | undefined;
}
