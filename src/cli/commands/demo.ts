// lifeboat demo: the whole job on the embedded default, no server needed.
// It creates a SQLite database and an uploads folder, a lifeboat.yaml and an
// encrypted repository beside them, backs both sources up, then drills each
// one (restore into a scratch place, verify against the fingerprint and the
// declared checks, measure RTO/RPO) and prints the drill records.
// The working directory stays usable with --keep.

import { makeDirectories } from "../../runtime/make-directories.ts";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../engines/config.ts";
import { readRepositoryPassword } from "../../config/password.ts";
import { createSampleDatabase, createSampleUploads } from "../../demo/sample-data.ts";
import type { DrillReport } from "../../domain/drill-report.ts";
import { runDrill } from "../../drill/run.ts";
import { LifeboatError, ExitCode } from "../../errors.ts";
import { backupSource, type BackupResult } from "../../operations/backup.ts";
import { renderDrillRecord } from "../../report/drill-record.ts";
import { writeReportFiles } from "../../report/files.ts";
import { initRepository } from "../../repository/repository.ts";
import { formatBytes, table } from "../output.ts";
import { openStorage, operationContext, type CommandEnv } from "../session.ts";

const demoConfig = `# Written by \`lifeboat demo\`. Try: lifeboat -c lifeboat.yaml snapshots
repository:
  url: file://./repository
  password_file: ./repository-password.txt
sources:
  app-sqlite:
    engine: sqlite
    path: ./app.db
    objectives: { rto: 15m, rpo: 24h }
    drill:
      checks:
        - sql: "select count(*) > 0 from bookings"
        - expect_rows: { table: clients, min: 100 }
  uploads:
    engine: files
    path: ./uploads
    objectives: { rto: 15m, rpo: 24h }
reports:
  dir: ./drill-reports
`;

interface DemoRow {
  readonly backup: BackupResult;
  readonly drill: DrillReport;
}

export async function demoCommand(env: CommandEnv, flags: { keep?: boolean; dir?: string }): Promise<void> {
  const dir = flags.dir ?? (await mkdtemp(join(tmpdir(), "lifeboat-demo-")));
  await makeDirectories(dir);
  try {
    env.log.info(`demo working directory: ${dir}`);
    await createSampleDatabase(join(dir, "app.db"));
    await createSampleUploads(join(dir, "uploads"));
    await writeFile(join(dir, "lifeboat.yaml"), demoConfig);
    await writeFile(join(dir, "repository-password.txt"), randomBytes(24).toString("base64url") + "\n", {
      mode: 0o600,
    });

    const { config } = await loadConfig(join(dir, "lifeboat.yaml"));
    const backend = openStorage(config.repository);
    const repository = await initRepository(backend, {
      password: await readRepositoryPassword(config.repository),
    });
    const rows: DemoRow[] = [];
    try {
      const context = operationContext(env, repository);
      for (const [name, source] of Object.entries(config.sources)) {
        env.log.info(`backing up ${name}...`);
        const backup = await backupSource(context, name, source);
        env.log.info(`drilling ${name}: restore into a scratch place, verify, measure...`);
        const drill = await runDrill(context, { sourceName: name, source, selector: backup.snapshot.id });
        await repository.saveDrillReport(drill);
        await writeReportFiles(config.reports.dir, drill);
        rows.push({ backup, drill });
      }
    } finally {
      await repository.close();
    }
    env.output.result(demoJson(dir, rows, !!flags.keep), () => demoText(dir, rows, !!flags.keep));
    if (rows.some((row) => row.drill.status !== "passed")) {
      throw new LifeboatError("VERIFICATION_FAILED", "a demo drill did not pass", {
        reported: true,
        exitCode: ExitCode.verification,
      });
    }
  } finally {
    if (!flags.keep && !flags.dir) await rm(dir, { recursive: true, force: true });
  }
}

function demoJson(dir: string, rows: readonly DemoRow[], kept: boolean) {
  return {
    directory: kept ? dir : null,
    passed: rows.every((row) => row.drill.status === "passed"),
    sources: rows.map(({ backup, drill }) => ({
      source: backup.source,
      snapshot: backup.snapshot.id,
      bytesRead: backup.stats.bytesRead,
      bytesStored: backup.stats.bytesStored,
      backupSeconds: backup.seconds,
      drill,
    })),
  };
}

function demoText(dir: string, rows: readonly DemoRow[], kept: boolean): string {
  return [
    ...rows.map((row) => renderDrillRecord(row.drill)),
    "Lifeboat demo: back up, drill (restore into a scratch place, verify, measure)",
    "",
    table(
      ["SOURCE", "SNAPSHOT", "READ", "STORED", "BACKUP", "RTO", "RPO", "CHECKS", "RESULT"],
      rows.map(({ backup, drill }) => [
        backup.source,
        backup.snapshot.id.slice(0, 8),
        formatBytes(backup.stats.bytesRead),
        formatBytes(backup.stats.bytesStored),
        `${backup.seconds.toFixed(2)}s`,
        drill.rto.achieved === null ? "n/a" : `${drill.rto.achieved.toFixed(2)}s`,
        drill.rpo.achieved === null ? "n/a" : `${drill.rpo.achieved.toFixed(2)}s`,
        `${drill.checks.filter((check) => check.result === "passed").length}/${drill.checks.length}`,
        drill.status,
      ]),
    ),
    "",
    rows.every((row) => row.drill.status === "passed")
      ? "Every drill restored its snapshot, matched the fingerprint taken at backup time and met its objectives."
      : "Some drills did NOT pass; see the records above.",
    kept ? `Working directory kept: ${dir} (try: lifeboat -c ${join(dir, "lifeboat.yaml")} drills)` : "",
  ].join("\n");
}
