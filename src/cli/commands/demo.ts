// lifeboat demo: the whole job on the embedded default, no server needed.
// It creates a SQLite database and an uploads folder, a lifeboat.yaml and an
// encrypted repository beside them, backs both sources up, restores each into
// a scratch place, verifies the restores against their fingerprints and
// prints a short report. The working directory stays usable with --keep.

import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../config/load.ts";
import { readRepositoryPassword } from "../../config/password.ts";
import { createSampleDatabase, createSampleUploads } from "../../demo/sample-data.ts";
import { backupSource, type BackupResult } from "../../operations/backup.ts";
import { restoreSnapshot, type RestoreResult } from "../../operations/restore.ts";
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
  uploads:
    engine: files
    path: ./uploads
`;

interface DemoRow {
  readonly backup: BackupResult;
  readonly restore: RestoreResult;
  readonly target: string;
}

export async function demoCommand(env: CommandEnv, flags: { keep?: boolean; dir?: string }): Promise<void> {
  const dir = flags.dir ?? (await mkdtemp(join(tmpdir(), "lifeboat-demo-")));
  await mkdir(dir, { recursive: true });
  try {
    env.log.info(`demo working directory: ${dir}`);
    await createSampleDatabase(join(dir, "app.db"));
    await createSampleUploads(join(dir, "uploads"));
    await writeFile(join(dir, "lifeboat.yaml"), demoConfig);
    await writeFile(join(dir, "repository-password.txt"), randomBytes(24).toString("base64url") + "\n", { mode: 0o600 });

    const { config } = await loadConfig(join(dir, "lifeboat.yaml"));
    const backend = openStorage(config.repository.url);
    const repository = await initRepository(backend, { password: await readRepositoryPassword(config.repository) });
    const rows: DemoRow[] = [];
    try {
      const context = operationContext(env, repository);
      for (const [name, source] of Object.entries(config.sources)) {
        env.log.info(`backing up ${name}...`);
        const backup = await backupSource(context, name, source);
        const target = join(dir, "scratch", name === "app-sqlite" ? "app.db" : name);
        await mkdir(join(dir, "scratch"), { recursive: true });
        env.log.info(`restoring ${name} into ${target} and verifying...`);
        const restore = await restoreSnapshot(context, {
          sourceName: name,
          source,
          selector: backup.snapshot.id,
          target,
          options: {},
          dryRun: false,
        });
        rows.push({ backup, restore, target });
      }
    } finally {
      await repository.close();
    }
    env.output.result(demoJson(dir, rows, !!flags.keep), () => demoText(dir, rows, !!flags.keep));
  } finally {
    if (!flags.keep && !flags.dir) await rm(dir, { recursive: true, force: true });
  }
}

function demoJson(dir: string, rows: readonly DemoRow[], kept: boolean) {
  return {
    directory: kept ? dir : null,
    passed: rows.every((row) => row.restore.verified),
    sources: rows.map(({ backup, restore, target }) => ({
      source: backup.source,
      snapshot: backup.snapshot.id,
      bytesRead: backup.stats.bytesRead,
      bytesStored: backup.stats.bytesStored,
      backupSeconds: backup.seconds,
      restoreSeconds: restore.phases.restore,
      verifySeconds: restore.phases.verify,
      target,
      verified: restore.verified,
      fingerprint: backup.snapshot.fingerprint,
    })),
  };
}

function demoText(dir: string, rows: readonly DemoRow[], kept: boolean): string {
  const facts = (row: DemoRow) =>
    Object.entries(row.backup.snapshot.fingerprint.counts)
      .filter(([key]) => key.startsWith("rows:") || key === "files" || key === "bytes")
      .map(([key, value]) => `${key.replace(/^rows:/, "")}=${value}`)
      .join(" ");
  return [
    "Lifeboat demo: back up, restore into scratch places, verify",
    "",
    table(
      ["SOURCE", "SNAPSHOT", "READ", "STORED", "BACKUP", "RESTORE", "VERIFY", "RESULT"],
      rows.map((row) => [
        row.backup.source,
        row.backup.snapshot.id.slice(0, 8),
        formatBytes(row.backup.stats.bytesRead),
        formatBytes(row.backup.stats.bytesStored),
        `${row.backup.seconds.toFixed(2)}s`,
        `${(row.restore.phases.restore ?? 0).toFixed(2)}s`,
        `${(row.restore.phases.verify ?? 0).toFixed(2)}s`,
        row.restore.verified ? "verified" : "FAILED",
      ]),
    ),
    "",
    ...rows.map((row) => `${row.backup.source}: ${facts(row)}`),
    "",
    rows.every((row) => row.restore.verified)
      ? "Every restore matched the fingerprint taken at backup time."
      : "Some restores did NOT match their fingerprints.",
    kept ? `Working directory kept: ${dir} (try: lifeboat -c ${join(dir, "lifeboat.yaml")} snapshots)` : "",
  ]
    .filter((line, index, lines) => line !== "" || lines[index - 1] !== "")
    .join("\n");
}
