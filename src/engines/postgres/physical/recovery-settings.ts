// The settings a restored data directory gets so that PostgreSQL recovers it
// to the chosen point: recovery.signal, and a block appended to
// postgresql.auto.conf (the last occurrence of a setting wins, and the
// source's own postgresql.conf, if it lives in the data directory, stays
// untouched). Archiving is switched off: a restored copy has the source's
// system identifier, and its WAL must never reach the source's archive.

import { access, appendFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatLsn, type RecoveryAction, type RecoveryTarget } from "../../../domain/wal.ts";

/** A value as postgresql.conf quotes it. */
export function confValue(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

export function recoveryTargetSettings(
  target: RecoveryTarget,
  action: RecoveryAction,
  timeline: number,
): Record<string, string> {
  const settings: Record<string, string> = { recovery_target_timeline: String(timeline) };
  switch (target.kind) {
    case "time":
      settings["recovery_target_time"] = target.text;
      break;
    case "lsn":
      settings["recovery_target_lsn"] = formatLsn(target.lsn);
      break;
    case "name":
      settings["recovery_target_name"] = target.name;
      break;
    case "xid":
      settings["recovery_target_xid"] = target.xid;
      break;
    case "immediate":
      settings["recovery_target"] = "immediate";
      break;
    case "latest":
      // No target: recovery replays every archived file, then promotes.
      return settings;
  }
  settings["recovery_target_action"] = action;
  return settings;
}

export async function writeRecoverySettings(
  dataDir: string,
  settings: Readonly<Record<string, string>>,
  note: string,
): Promise<void> {
  const lines = [
    "",
    `# ${note}`,
    ...Object.entries({ ...settings, archive_mode: "off" }).map(
      ([name, value]) => `${name} = ${confValue(value)}`,
    ),
    "",
  ];
  await appendFile(join(dataDir, "postgresql.auto.conf"), lines.join("\n"), { mode: 0o600 });
  await writeFile(join(dataDir, "recovery.signal"), "", { mode: 0o600 });
}

/**
 * A cluster whose configuration lived outside its data directory (Debian
 * keeps it in /etc/postgresql) restores without postgresql.conf and
 * pg_hba.conf; PostgreSQL refuses to start without them. Minimal ones are
 * written, never over existing files: local connections by the OS user
 * (peer), none over TCP until the operator allows them.
 */
export async function writeMissingConfigFiles(dataDir: string): Promise<string[]> {
  const written: string[] = [];
  const files: Record<string, string> = {
    "postgresql.conf":
      "# Written by Lifeboat: the restored cluster's configuration was not in its data directory.\n" +
      "# Copy the source's settings here (or point the server at its config) before production use.\n",
    "pg_hba.conf":
      "# Written by Lifeboat: the restored cluster's pg_hba.conf was not in its data directory.\n" +
      "local all all peer\n",
  };
  for (const [name, text] of Object.entries(files)) {
    const path = join(dataDir, name);
    const exists = await access(path).then(
      () => true,
      () => false,
    );
    if (exists) continue;
    await writeFile(path, text, { mode: 0o600 });
    written.push(name);
  }
  return written;
}
