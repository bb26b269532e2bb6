// The error table. Every failure a user can meet has a stable code, an exit
// code and a hint that says what to do (pgBackRest's build/error.yaml is the
// model). docs/errors.md is checked against this table by a test, so the two
// cannot drift.

/** Process exit codes; documented in docs/errors.md and docs/cli-json.md. */
export const ExitCode = {
  ok: 0,
  /** Unexpected failure: a bug or an environment problem with no better code. */
  failure: 1,
  /** Bad command line or bad lifeboat.yaml. */
  usage: 2,
  /** The repository cannot be opened or used (newer format, unreadable config, storage failure); missing, locked and wrong password have their own codes. */
  repository: 3,
  /** Stored data failed verification: checksum mismatch, missing or truncated object. */
  integrity: 4,
  /** A source or target could not be read or written: unreachable server, tool failed, target not empty. */
  sourceOrTarget: 5,
  /** A restore finished but its fingerprint does not match the snapshot's; a drill's verification failed. */
  verification: 6,
  /** A drill restored and verified the data, but an RTO or RPO objective was missed. */
  objectiveMissed: 7,
  /** A drill could not complete (no scratch target, no snapshot, ...): nothing was proved either way. */
  drillError: 8,
  /** There is no repository at repository.url (restic uses 10 too). */
  repositoryMissing: 10,
  /** The repository is locked by another process (restic: 11). */
  locked: 11,
  /** No key of the repository opens with the password given (restic: 12). */
  wrongPassword: 12,
  /** status: a source is past an objective (backup or WAL older than the RPO, no passing drill within the interval) or was never drilled. */
  stale: 13,
  /** status: a source's newest backup or drill failed, the newest check or prune failed, or the repository could not be read. */
  failing: 14,
  /** Stopped by SIGINT or SIGTERM; what the command had made was cleaned up (128 + SIGINT, as shells report it). */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

interface ErrorSpec {
  readonly exit: ExitCode;
  readonly hint: string;
}

export const errorTable = {
  BAD_CONFIG: {
    exit: ExitCode.usage,
    hint: "Fix the listed fields in lifeboat.yaml; docs/config.schema.json describes every field.",
  },
  CONFIG_NOT_FOUND: {
    exit: ExitCode.usage,
    hint: "Pass -c/--config, set LIFEBOAT_CONFIG, or create ./lifeboat.yaml.",
  },
  BAD_ARGUMENT: {
    exit: ExitCode.usage,
    hint: "Run the command with --help to see its arguments.",
  },
  UNKNOWN_SOURCE: {
    exit: ExitCode.usage,
    hint: "Use one of the source names declared under `sources:` in lifeboat.yaml.",
  },
  NO_RETENTION_POLICY: {
    exit: ExitCode.usage,
    hint: "Declare which snapshots to keep: a top-level `retention:` block or a source's own `retention:` in lifeboat.yaml (keep_last, keep_daily, ...), or --keep-* flags. `forget` never guesses a policy.",
  },
  PRUNE_DAMAGED_MANIFEST: {
    exit: ExitCode.integrity,
    hint: "A manifest that cannot be read may reference data, so prune deletes nothing while one exists. Run `lifeboat check` to see it, then either restore the manifest from a copy of the repository or `lifeboat forget` that snapshot id, and prune again.",
  },
  PRUNE_INDEX_DAMAGED: {
    exit: ExitCode.integrity,
    hint: "An index object that cannot be read leaves the packs it names looking unused, so prune deletes nothing while one exists. Run `lifeboat repair index` (it rebuilds the index from the packs' own headers), then prune again.",
  },
  WAL_CONFLICT: {
    exit: ExitCode.integrity,
    hint: "A WAL file is already archived under this name with other bytes. Archiving stops (PostgreSQL retries the push and keeps the file in pg_wal) until you find the second writer: usually a restored copy of the cluster with archiving still on. Never delete the archived file to make the push pass.",
  },
  WAL_NOT_ARCHIVED: {
    exit: ExitCode.failure,
    hint: 'wal-fetch was asked for a WAL file the archive does not hold. PostgreSQL asks for such files as a matter of course (the next timeline\'s history file, the segment after the last one), so exit 1 is how restore_command says "not archived".',
  },
  WAL_PUSH_FAILED: {
    exit: ExitCode.repository,
    hint: "The background pusher (wal_push.async) could not archive the file; the message says why, and the pusher's log in wal_push.spool_dir has the details. PostgreSQL keeps the file and retries.",
  },
  WAL_PUSH_TIMEOUT: {
    exit: ExitCode.repository,
    hint: "The background pusher (wal_push.async) did not archive the file in time: storage may be slow or unreachable. PostgreSQL keeps the file and retries; see the pusher's log in wal_push.spool_dir.",
  },
  WAL_ARCHIVE_MISSING: {
    exit: ExitCode.sourceOrTarget,
    hint: "Physical backups need the source's WAL in Lifeboat's archive: set archive_mode = on and archive_command = 'lifeboat -c /etc/lifeboat/lifeboat.yaml wal-push SOURCE %p' on the source (docs/engines.md, \"Point-in-time recovery\"), reload it, and run the backup again.",
  },
  WAL_GAP: {
    exit: ExitCode.integrity,
    hint: "A WAL file between a base backup and the target is not in the archive: nothing after the gap can be recovered from that base backup. Check the source's archiver (pg_stat_archiver, the server log), and take a new base backup so that restores after the gap become possible.",
  },
  PITR_TARGET_UNREACHABLE: {
    exit: ExitCode.sourceOrTarget,
    hint: "Pick a target inside the reachable range the message names: after the oldest base backup finished and before the newest archived WAL, or use --latest / --immediate.",
  },
  RECOVERY_FAILED: {
    exit: ExitCode.sourceOrTarget,
    hint: "PostgreSQL stopped during recovery; the lines of its log quoted above say why. The restored data directory is left in place for inspection; remove it before trying again.",
  },
  RETENTION_KEEPS_NOTHING: {
    exit: ExitCode.usage,
    hint: "`forget` never removes every snapshot of a source. Add a rule that keeps some (keep_last: 1 keeps the newest), or check that the snapshots carry the tags keep_tags names.",
  },
  PASSWORD_MISSING: {
    exit: ExitCode.repository,
    hint: "Set the variable named by repository.password_env, or point repository.password_file at a key file.",
  },
  REPOSITORY_NOT_FOUND: {
    exit: ExitCode.repositoryMissing,
    hint: "Check repository.url, or create the repository with `lifeboat init`.",
  },
  REPOSITORY_EXISTS: {
    exit: ExitCode.repository,
    hint: "A repository is already there; use it as it is, or choose another repository.url.",
  },
  REPOSITORY_FORMAT_TOO_NEW: {
    exit: ExitCode.repository,
    hint: "This repository was written by a newer Lifeboat; upgrade Lifeboat to read it.",
  },
  WRONG_PASSWORD: {
    exit: ExitCode.wrongPassword,
    hint: "No key of this repository opens with that password; check the variable named by repository.password_env.",
  },
  KEY_NOT_FOUND: {
    exit: ExitCode.repository,
    hint: "Run `lifeboat key list` to see the repository's key ids.",
  },
  KEY_DAMAGED: {
    exit: ExitCode.repository,
    hint: "A key file fails its integrity check (damaged storage). Open the repository with another key's password, then replace the damaged key: `lifeboat key add`, then `lifeboat key remove <damaged id>`.",
  },
  REPOSITORY_CONFIG_DAMAGED: {
    exit: ExitCode.repository,
    hint: "The repository's `config` object is damaged. Run `lifeboat repair config` with a repository password: it rewrites `config` from the intact copy sealed in the key files (docs/repository-format.md, section Recovering a damaged config).",
  },
  REPOSITORY_READ_ONLY: {
    exit: ExitCode.repository,
    hint: "The repository's storage refuses writes (a read-only mount or copy). Commands that only read (snapshots, restore, check, drills) still work; write with a writable repository.url.",
  },
  LOCK_LOST: {
    exit: ExitCode.locked,
    hint: "The repository lock this command held was removed (`lifeboat unlock --remove-all`) or could not be refreshed; the command stopped so it cannot race a prune. Run `lifeboat check`, then run the command again.",
  },
  LAST_KEY: {
    exit: ExitCode.repository,
    hint: "Add another key with `lifeboat key add` before removing this one, or the repository becomes unreadable.",
  },
  LOCKED: {
    exit: ExitCode.locked,
    hint: "Another Lifeboat process holds the repository lock (the message names it); wait for it (`--retry-lock 5m` waits by itself), or remove a stale lock with `lifeboat unlock` once you are sure it is dead.",
  },
  UNKNOWN_ENGINE: {
    exit: ExitCode.repository,
    hint: "The snapshot was made by an engine this Lifeboat does not have; restore it with the Lifeboat version that made it (its manifest names the version).",
  },
  SNAPSHOT_NOT_FOUND: {
    exit: ExitCode.repository,
    hint: "Run `lifeboat snapshots` to see the available snapshot ids.",
  },
  CHECKSUM_MISMATCH: {
    exit: ExitCode.integrity,
    hint: "The stored object is corrupt. Run `lifeboat check --read-data` to find every damaged object; restore from another snapshot or repository copy.",
  },
  OBJECT_MISSING: {
    exit: ExitCode.integrity,
    hint: "An object the snapshot needs is gone from storage. Run `lifeboat check` to list what else is missing.",
  },
  OBJECT_TRUNCATED: {
    exit: ExitCode.integrity,
    hint: "The stored object is shorter than its envelope requires (an interrupted upload or a damaged disk). Run `lifeboat check --read-data`.",
  },
  STORAGE_ERROR: {
    exit: ExitCode.repository,
    hint: "The storage backend failed; check that the repository location is reachable and writable.",
  },
  SOURCE_UNREACHABLE: {
    exit: ExitCode.sourceOrTarget,
    hint: "Check the source's url/path in lifeboat.yaml and that the service is running and reachable.",
  },
  SOURCE_TOOL_FAILED: {
    exit: ExitCode.sourceOrTarget,
    hint: "The service's own tool (pg_dump, pg_restore, ...) failed; its stderr is quoted above. No snapshot was recorded.",
  },
  SOURCE_LOCKED: {
    exit: ExitCode.sourceOrTarget,
    hint: "Another session holds a lock the backup must wait for (ACCESS EXCLUSIVE: ALTER TABLE, LOCK TABLE, VACUUM FULL, ...); the message names it. Let it finish or end it (pg_terminate_backend(pid)), or raise the source's lock_timeout. No snapshot was recorded.",
  },
  TOOL_NOT_FOUND: {
    exit: ExitCode.sourceOrTarget,
    hint: "Install the service's client tools (for PostgreSQL: the postgresql-client package) or put them on PATH.",
  },
  TARGET_NOT_EMPTY: {
    exit: ExitCode.sourceOrTarget,
    hint: "Restore into a new or empty target, or pass --clean (databases) / --force (files) to replace it.",
  },
  PRESERVE_UNSUPPORTED: {
    exit: ExitCode.sourceOrTarget,
    hint: "This engine cannot keep the target a restore replaces (it cannot rename it aside). Back the target up first (`lifeboat backup` of a source pointing at it), then restore with --no-preserve, or restore into a new target.",
  },
  PRESERVED_MISSING: {
    exit: ExitCode.sourceOrTarget,
    hint: "The copy a restore kept is no longer where it was recorded. `lifeboat preserved` lists the copies still recorded; `lifeboat preserved drop ID` forgets one that is gone.",
  },
  TARGET_IS_SOURCE: {
    exit: ExitCode.sourceOrTarget,
    hint: "Restoring over the source itself is refused; choose another target.",
  },
  TARGET_IDENTITY_UNKNOWN: {
    exit: ExitCode.sourceOrTarget,
    hint: "Lifeboat could not prove the target is not the source (the reason says what could not be read). Grant the role EXECUTE on pg_control_system(), make the source reachable, or, once you have checked yourself, pass --target-not-source.",
  },
  SCRATCH_ON_SOURCE: {
    exit: ExitCode.sourceOrTarget,
    hint: "A drill's scratch target must not live on the source's own server or path; configure drill.target elsewhere, or set drill.allow_source_server: true to accept the risk deliberately.",
  },
  TARGET_UNREACHABLE: {
    exit: ExitCode.sourceOrTarget,
    hint: "Check the --to target: the server must be reachable and the path's parent must exist and be writable.",
  },
  TARGET_FULL: {
    exit: ExitCode.sourceOrTarget,
    hint: "The target's filesystem is full (or over quota): free space there or restore elsewhere, then run the restore again. The existing target was left as it was.",
  },
  VERIFICATION_FAILED: {
    exit: ExitCode.verification,
    hint: "The restored data does not match the fingerprint taken at backup; the report lists each difference.",
  },
  SERVICE_NOT_READY: {
    exit: ExitCode.verification,
    hint: "The data is restored and verified, but an after_restore hook failed or a ready probe did not pass within its budget (the message names it and its last result). Fix the service and check it yourself, or rerun the hooks and probes; `--no-ready` skips them (docs/readiness.md).",
  },
  STATUS_STALE: {
    exit: ExitCode.stale,
    hint: "A source is past an objective or was never drilled; `lifeboat status` names each one and why. Run the backup or drill it names (or fix its schedule).",
  },
  STATUS_FAILING: {
    exit: ExitCode.failing,
    hint: "A source's newest backup or drill failed, or the repository could not be read; `lifeboat status` gives the error code of each failure. Fix the cause and run it again.",
  },
  DEPLOY_DRIFT: {
    exit: ExitCode.verification,
    hint: "The deployed manifests differ from what lifeboat.yaml's schedules render; the output lists each field. Re-render with `lifeboat deploy kubernetes --out DIR` and apply it, or change lifeboat.yaml.",
  },
  OBJECTIVE_MISSED: {
    exit: ExitCode.objectiveMissed,
    hint: "The drill restored and verified the data but took longer (RTO) or lost more (RPO) than the objective allows; the drill report's phases say where the time went.",
  },
  DRILL_ERROR: {
    exit: ExitCode.drillError,
    hint: "The drill could not complete, so nothing was proved; the drill report's issues say what failed. Fix it and drill again.",
  },
  INTERRUPTED: {
    exit: ExitCode.interrupted,
    hint: "The command was stopped by a signal; what it had made was cleaned up. Run it again when ready.",
  },
  INTERNAL: {
    exit: ExitCode.failure,
    hint: "This is a bug in Lifeboat; please report it with the command and its output.",
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorTable;

/**
 * The one error type Lifeboat throws on purpose. `code` is stable across
 * releases (scripts match on it); `message` says what went wrong with the
 * specifics (object id, field path, server); `hint` says what to do.
 */
export class LifeboatError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly exitCode: ExitCode;
  readonly details: Readonly<Record<string, unknown>>;
  /** The command already printed this failure in its own output; only the exit code remains to be set. */
  readonly reported: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      details?: Record<string, unknown>;
      cause?: unknown;
      hint?: string;
      reported?: boolean;
      /** Override the code's exit status (drills report their outcome through it). */
      exitCode?: ExitCode;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "LifeboatError";
    this.code = code;
    this.hint = options.hint ?? errorTable[code].hint;
    this.exitCode = options.exitCode ?? errorTable[code].exit;
    this.details = options.details ?? {};
    this.reported = options.reported ?? false;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

export function isLifeboatError(error: unknown, code?: ErrorCode): error is LifeboatError {
  return error instanceof LifeboatError && (code === undefined || error.code === code);
}
