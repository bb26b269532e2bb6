// The point-in-time side of `lifeboat restore`: recovery target flags, the
// restore_command written into the restored cluster, and the report.

import { resolve } from "node:path";
import { parseLsn, type RecoveryAction, type RecoveryTarget } from "../../domain/wal.ts";
import { LifeboatError } from "../../errors.ts";
import { describeTarget } from "../../plan/pitr.ts";
import type { PitrRestoreResult } from "../../operations/pitr-restore.ts";
import type { ServiceReadiness } from "../restore-readiness.ts";
import type { CommandEnv } from "../session.ts";

export interface PitrFlags {
  readonly targetTime?: string;
  readonly targetLsn?: string;
  readonly targetName?: string;
  readonly targetXid?: string;
  readonly immediate?: boolean;
  readonly latest?: boolean;
  readonly targetAction?: string;
  readonly targetTimeline?: string;
  readonly start?: boolean;
  readonly port?: string;
}

/** The recovery target the flags name; undefined when none is given. Two at once is a usage error. */
export function recoveryTargetOf(flags: PitrFlags): RecoveryTarget | undefined {
  const given: RecoveryTarget[] = [];
  if (flags.targetTime !== undefined) given.push({ kind: "time", ...parseTargetTime(flags.targetTime) });
  if (flags.targetLsn !== undefined) given.push({ kind: "lsn", lsn: parseLsn(flags.targetLsn) });
  if (flags.targetName !== undefined) given.push({ kind: "name", name: flags.targetName });
  if (flags.targetXid !== undefined) {
    if (!/^\d+$/.test(flags.targetXid)) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `--target-xid ${JSON.stringify(flags.targetXid)} is not a transaction id`,
      );
    }
    given.push({ kind: "xid", xid: flags.targetXid });
  }
  if (flags.immediate) given.push({ kind: "immediate" });
  if (flags.latest) given.push({ kind: "latest" });
  if (given.length > 1) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      "give one recovery target: --target-time, --target-lsn, --target-name, --target-xid, --immediate or --latest",
    );
  }
  return given[0];
}

/** Any flag that only means something for a point-in-time restore. */
export function wantsPointInTime(flags: PitrFlags): boolean {
  return (
    recoveryTargetOf(flags) !== undefined ||
    !!flags.start ||
    flags.port !== undefined ||
    flags.targetTimeline !== undefined
  );
}

/**
 * A moment with an explicit zone: ISO-8601 (2026-01-25T14:30:00Z) or the
 * way PostgreSQL prints it (2026-01-25 14:30:00+00, ... UTC). A time without
 * a zone is refused: read on another host it would mean another moment.
 */
export function parseTargetTime(text: string): { time: Date; text: string } {
  const match =
    /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$/i.exec(
      text.trim(),
    );
  const zone = match?.[3]?.toUpperCase();
  const offset =
    zone === undefined
      ? undefined
      : zone === "Z" || zone === "UTC" || zone === "GMT"
        ? "Z"
        : normaliseOffset(zone);
  const date = match && offset ? new Date(`${match[1]}T${match[2]}${offset}`) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `--target-time ${JSON.stringify(text)} is not a moment with a time zone`,
      {
        hint: "Write it as 2026-01-25 14:30:00+00 or 2026-01-25T14:30:00Z (a zone is required).",
      },
    );
  }
  // PostgreSQL's notation, every fraction digit kept (it refuses ISO-8601's "T" and "Z" here).
  return { time: date, text: `${match![1]} ${match![2]}${offset === "Z" ? "+00" : offset}` };
}

function normaliseOffset(zone: string): string {
  const digits = zone.replace(":", "");
  return digits.length === 3 ? `${digits}:00` : `${digits.slice(0, 3)}:${digits.slice(3)}`;
}

export function recoveryActionOf(flags: PitrFlags): RecoveryAction {
  const action = flags.targetAction ?? "promote";
  if (action !== "promote" && action !== "pause" && action !== "shutdown") {
    throw new LifeboatError("BAD_ARGUMENT", `--target-action ${action}: promote, pause or shutdown`);
  }
  return action;
}

export function timelineOf(flags: PitrFlags): number | undefined {
  if (flags.targetTimeline === undefined) return undefined;
  if (!/^\d+$/.test(flags.targetTimeline) || Number(flags.targetTimeline) < 1) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `--target-timeline ${flags.targetTimeline} is not a timeline number`,
    );
  }
  return Number(flags.targetTimeline);
}

export function portOf(flags: PitrFlags): number | undefined {
  if (flags.port === undefined) return undefined;
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new LifeboatError("BAD_ARGUMENT", `--port ${flags.port} is not a TCP port`);
  }
  if (!flags.start) throw new LifeboatError("BAD_ARGUMENT", "--port only means something with --start");
  return port;
}

/** A word as sh reads it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

/**
 * restore_command for the restored cluster: this very Lifeboat (the same
 * Node and script), the same config by absolute path, and the cluster's
 * system identifier, so it works from the server's working directory and
 * user. The password must reach it by password_file: the server's
 * environment holds no LIFEBOAT_PASSWORD.
 */
export function walFetchCommandLine(configPath: string, sourceName: string, systemId: string): string {
  const lifeboat = [process.execPath, process.argv[1] ?? "lifeboat"].map(shellQuote).join(" ");
  return `${lifeboat} -c ${shellQuote(resolve(configPath))} wal-fetch ${shellQuote(sourceName)} --system-id ${systemId} %f %p`;
}

export function printPitrResult(
  env: CommandEnv,
  sourceName: string,
  result: PitrRestoreResult,
  to: string,
  /** The after_restore hooks and ready probes that ran after it (cli/restore-readiness.ts). */
  service?: ServiceReadiness,
): void {
  const { plan, outcome } = result;
  env.output.result(
    {
      dryRun: result.dryRun,
      source: sourceName,
      snapshot: result.snapshot.id,
      pointInTime: true,
      target: describeTarget(plan.target),
      timeline: plan.timeline,
      systemId: result.systemId,
      walFiles: plan.walFiles.length,
      lastSegment: plan.lastSegment,
      reachable: plan.reachable,
      dataDir: outcome?.dataDir ?? to,
      started: outcome?.url !== undefined,
      reachedLsn: outcome?.reachedLsn ?? null,
      reachedTimeline: outcome?.reachedTimeline ?? null,
      phases: { ...outcome?.phases, ...service?.phases },
      ...(service ? { readiness: service.readiness } : {}),
      preserved: result.preserved ?? [],
    },
    () => {
      const from = `base backup ${result.snapshot.id.slice(0, 8)} (${result.snapshot.consistentAt})`;
      const wal = `${plan.walFiles.length} WAL file(s) up to ${plan.lastSegment}`;
      if (result.dryRun) {
        return [
          `dry run: would restore ${sourceName} to ${describeTarget(plan.target)} into ${to}:`,
          `  - lay down ${from} and check it against its backup manifest`,
          `  - recover along timeline ${plan.timeline} with ${wal}`,
          `  - reachable: ${plan.reachable}`,
        ].join("\n");
      }
      const phases = outcome?.phases;
      const lines = [
        `restored ${from} of ${sourceName} into ${outcome?.dataDir ?? to} in ${phases?.layDown.toFixed(1) ?? "?"}s, recovering to ${describeTarget(plan.target)} with ${wal}`,
      ];
      if (outcome?.url) {
        lines.push(
          `recovery finished${outcome.reachedLsn ? ` at ${outcome.reachedLsn}` : ""}${outcome.reachedTimeline ? ` on timeline ${outcome.reachedTimeline}` : ""} (replay ${phases?.replay?.toFixed(1)}s, end of recovery ${phases?.promote?.toFixed(1)}s); the server is running`,
        );
      } else {
        lines.push(
          "start it with pg_ctl (as the postgres user); recovery settings are in postgresql.auto.conf",
        );
      }
      if (service?.summary) lines.push(service.summary);
      for (const copy of result.preserved ?? [])
        lines.push(
          `kept the data directory it replaced as ${copy.location}: \`lifeboat restore --undo ${to}\` swaps it back (with the server stopped), \`lifeboat preserved drop ${copy.id}\` removes it`,
        );
      return lines.join("\n");
    },
  );
}
