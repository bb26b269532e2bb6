// Running pg_dump and pg_dumpall for a capture (capture.ts). pg_dump imports
// the capture's exported snapshot, waits at most lock_timeout for its table
// locks (a wait that runs out is SOURCE_LOCKED naming who is in the way), and
// connects with an application_name unique to the capture so that an abort
// can find and end its sessions on the server.

import { LifeboatError } from "../../errors.ts";
import { toolFailure } from "../../runtime/process.ts";
import type { EngineContext } from "../engine.ts";
import type { PostgresSourceConfig } from "./config.ts";
import { describeLocation, taggedLocation, toolConnection, type PgLocation } from "./connection.ts";
import { isPgDumpLockFailure, lockWaitError } from "./lock-holders.ts";
import type { Session, SessionLimits } from "./session.ts";

export interface DumpJob {
  readonly source: PostgresSourceConfig;
  readonly location: PgLocation;
  /** The snapshot transaction's session; the fingerprint is read in it. */
  readonly session: Session;
  readonly snapshotId: string;
  readonly dumpTag: string;
  readonly limits: SessionLimits;
}

/** A limit in milliseconds as users write it in lifeboat.yaml: 2000 is "2s". */
export function describeMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Returns pg_dump's version line, recorded so a restore knows which pg_restore it needs. */
export async function runPgDump(job: DumpJob, dumpDir: string, context: EngineContext): Promise<string> {
  const { location, limits } = job;
  const connection = toolConnection(taggedLocation(location, job.dumpTag));
  const version = await context.runner.run("pg_dump", ["--version"], { signal: context.signal });
  if (!version.ok) context.signal?.throwIfAborted();
  if (!version.ok) throw toolFailure(version, "checking pg_dump");
  const args = [
    "--format=directory",
    `--jobs=${job.source.jobs}`,
    "--compress=0",
    `--snapshot=${job.snapshotId}`,
    "--no-password",
    // The spool is read once and thrown away; durability comes from the repository.
    "--no-sync",
    // Fail instead of queueing for ever behind another session's ACCESS EXCLUSIVE lock.
    ...(limits.lockTimeoutMs > 0 ? [`--lock-wait-timeout=${limits.lockTimeoutMs}`] : []),
    `--file=${dumpDir}`,
    ...connection.args,
  ];
  context.log.debug(`pg_dump ${args.join(" ")}`);
  const result = await context.runner.run("pg_dump", args, { env: connection.env, signal: context.signal });
  if (result.ok) return version.stdout.trim();
  context.signal?.throwIfAborted();
  const failure = toolFailure(result, `dumping ${describeLocation(location)}`);
  if (!isPgDumpLockFailure(result.stderr)) throw failure;
  throw await lockWaitError(
    location,
    `pg_dump waited ${describeMs(limits.lockTimeoutMs)} for a table lock and gave up`,
    [job.session.pid],
    failure,
  );
}

export async function dumpGlobals(location: PgLocation, file: string, context: EngineContext): Promise<void> {
  const connection = toolConnection(location);
  const args = ["--globals-only", "--no-password", `--file=${file}`, ...connection.args];
  const result = await context.runner.run("pg_dumpall", args, {
    env: connection.env,
    signal: context.signal,
  });
  if (result.ok) return;
  context.signal?.throwIfAborted();
  const failure = toolFailure(result, `dumping roles and tablespaces of ${describeLocation(location)}`);
  if (!/permission denied/i.test(result.stderr)) throw failure;
  throw new LifeboatError(failure.code, failure.message, {
    details: failure.details,
    hint: "Capturing globals reads pg_authid, which needs a superuser: connect as one, or set `globals: false` for this source.",
  });
}
