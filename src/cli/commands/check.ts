// lifeboat check [--read-data | --read-data-subset=N%]: verify the repository.
// Problems are listed in full and turn into exit code 4 (integrity).

import { ExitCode, LifeboatError, type ErrorCode } from "../../errors.ts";
import type { OperationContext } from "../../operations/context.ts";
import { checkWalArchives, type WalArchiveReport } from "../../operations/wal-check.ts";
import { recorded } from "../../operations/run-record.ts";
import { formatBytes } from "../output.ts";
import { withRepository, type CommandEnv, type RepositoryAccess } from "../session.ts";

export function parseSubset(value: string | undefined, readData: boolean): number {
  if (readData) return 100;
  if (value === undefined) return 0;
  const match = /^(\d+(?:\.\d+)?)%?$/.exec(value.trim());
  const percent = match ? Number(match[1]) : NaN;
  if (!(percent > 0 && percent <= 100)) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `--read-data-subset must be a percentage in (0, 100], got ${value}`,
    );
  }
  return percent;
}

export async function checkCommand(
  env: CommandEnv,
  flags: { readData?: boolean; readDataSubset?: string },
): Promise<void> {
  const readDataPercent = parseSubset(flags.readDataSubset, !!flags.readData);
  const { report, wal, access } = await withRepository(
    env,
    { kind: "shared", command: "check" },
    (context, _config, access) =>
      recorded(
        context,
        { operation: "check", source: null },
        () => runCheck(context, readDataPercent, access),
        ({ report }) => (report.problems.length ? { error: problemsError(report.problems) } : {}),
      ),
  );
  const { spools } = access;
  env.output.result(
    {
      ok: report.problems.length === 0,
      readDataPercent,
      ...report,
      wal,
      locked: access.locked,
      readOnly: access.readOnly,
      spools: { removed: spools.removed, bytesRemoved: spools.bytesRemoved, unprovable: spools.unprovable },
    },
    () =>
      [
        `${report.snapshots} snapshot(s), ${report.objectsReferenced} object(s) referenced, ${report.objectsRead} read and verified`,
        report.unreferenced
          ? `${report.unreferenced} unreferenced object(s) (left by interrupted backups; harmless)`
          : "",
        report.leftoversRemoved ? `${report.leftoversRemoved} leftover temp file(s) removed` : "",
        report.leftoversKept
          ? `${report.leftoversKept} leftover temp file(s) of interrupted writes kept: the repository is read-only`
          : "",
        spools.removed
          ? `${spools.removed} leftover local temporary folder(s) of killed runs removed (${formatBytes(spools.bytesRemoved)})`
          : "",
        spools.unprovable.length
          ? `${spools.unprovable.length} old temporary folder(s) whose owner cannot be proved gone, left alone: ${spools.unprovable.join(", ")}`
          : "",
        ...wal.map(describeWalArchive),
        ...report.problems.map((problem) => `${problem.code} ${problem.object}: ${problem.message}`),
        report.problems.length ? `${report.problems.length} problem(s) found` : "no problems found",
      ]
        .filter(Boolean)
        .join("\n"),
  );
  const first = report.problems[0];
  if (first) {
    throw new LifeboatError(
      first.code === "BAD_MANIFEST" ? "CHECKSUM_MISMATCH" : first.code,
      `check found ${report.problems.length} problem(s)`,
      {
        reported: true,
        // Any damage found is an integrity result, whichever object comes first.
        exitCode: ExitCode.integrity,
      },
    );
  }
}

function describeWalArchive(wal: WalArchiveReport): string {
  const age = wal.newestAgeSeconds === null ? "" : `, archived ${Math.round(wal.newestAgeSeconds)}s ago`;
  return (
    `WAL of ${wal.source} (cluster ${wal.systemId}): ${wal.segments} segment(s), newest ${wal.newestSegment ?? "none"}${age}; ` +
    `${wal.segmentsSinceOldestBackup} since the oldest of ${wal.baseBackups} base backup(s)` +
    (wal.streamedUpTo ? `; streamed up to LSN ${wal.streamedUpTo}` : "") +
    (wal.objectsRead ? `; ${wal.objectsRead} WAL file(s) read and verified` : "")
  );
}

async function runCheck(context: OperationContext, readDataPercent: number, access: RepositoryAccess) {
  context.progress.start("check");
  const report = await context.repository
    .check({
      readDataPercent,
      onProgress: (done) => context.progress.advance(done),
      // check must not write to a read-only repository: leftovers are only counted there.
      removeLeftovers: !access.readOnly,
      ...(context.signal ? { signal: context.signal } : {}),
    })
    .finally(() => context.progress.stop());
  const wal = await checkWalArchives(context, { readDataPercent });
  return {
    report: { ...report, problems: [...report.problems, ...wal.flatMap((w) => w.problems)] },
    wal,
    access,
  };
}

/** A check that found problems failed: its run record names the first problem's code. */
function problemsError(
  problems: readonly { code: string; object: string; message: string }[],
): LifeboatError {
  const first = problems[0]!;
  return new LifeboatError(
    first.code as ErrorCode,
    `${problems.length} problem(s) found; first: ${first.object}: ${first.message}`,
  );
}
