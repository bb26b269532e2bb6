// A point-in-time recovery setup for integration tests: a workspace whose
// repository takes physical backups of a throwaway cluster that archives its
// WAL with the real `lifeboat wal-push` as archive_command. PostgreSQL runs
// the command as the postgres user, so the workspace is readable by it, the
// repository password comes from a file (the server's environment has no
// LIFEBOAT_PASSWORD), and the repository belongs to that user.

import { spawnSync } from "node:child_process";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cliPath, workspace } from "./cli.ts";
import { psqlAt, startCluster, type PgCluster } from "./pg-cluster.ts";

export interface PitrSetup {
  readonly cluster: PgCluster;
  readonly ws: Awaited<ReturnType<typeof workspace>>;
  /** The archive_command the cluster runs (for restarting a promoted copy with archiving on). */
  readonly archiveCommand: string;
  /** Insert a marker row; returns its id. */
  marker(label: string): Promise<number>;
  /** The markers present in a database reached by `psql`. */
  markersIn(psql: (sql: string) => Promise<string>): Promise<string[]>;
  /** Force the current segment into the archive and wait until the archiver reports it pushed. */
  switchAndWait(): Promise<string>;
  stop(): Promise<void>;
}

export function shellWord(word: string): string {
  return `'${word.replace(/'/g, "'\\''")}'`;
}

export interface PitrSetupOptions {
  /** More sources (YAML under `sources:`, indented two spaces). */
  readonly extraSources?: string;
  /** More fields of app-db (YAML indented four spaces); given the workspace folder. */
  readonly appDb?: string | ((dir: string) => string);
}

/** PostgreSQL runs archive_command as postgres: it must reach this checkout's Node and CLI. */
function requireServerUserAccess(): void {
  const probe = spawnSync("runuser", [
    "-u",
    "postgres",
    "--",
    "test",
    "-x",
    process.execPath,
    "-a",
    "-r",
    cliPath,
  ]);
  if (probe.status !== 0) {
    throw new Error(
      `the postgres user cannot run ${process.execPath} ${cliPath}: PITR tests need the checkout readable by it (.ci/run grants the folders above it o+x)`,
    );
  }
}

export async function startPitrSetup(options: PitrSetupOptions = {}): Promise<PitrSetup> {
  requireServerUserAccess();
  const ws = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_file: "${dir}/password" }
sources:
  app-db:
    engine: postgres
    url: PLACEHOLDER_URL
    mode: physical
${typeof options.appDb === "function" ? options.appDb(dir) : (options.appDb ?? "")}${options.extraSources ?? ""}`,
  );
  // Readable by the server's user: the config, the password file, the CLI's workspace.
  await chmod(ws.dir, 0o755);
  await writeFile(join(ws.dir, "password"), `${ws.password}\n`, { mode: 0o644 });
  const archiveCommand = `${shellWord(process.execPath)} ${shellWord(cliPath)} -c ${shellWord(ws.configFile)} wal-push app-db %p`;
  const cluster = await startCluster({
    settings: {
      archive_mode: "on",
      archive_command: shellWord(archiveCommand),
      wal_level: "replica",
      max_wal_senders: "4",
    },
  });
  const text = await readFile(ws.configFile, "utf8");
  await writeFile(ws.configFile, text.replaceAll("PLACEHOLDER_URL", cluster.url()));
  const init = await ws.cli(["init"]);
  if (init.code !== 0) throw new Error(`lifeboat init failed: ${init.stderr}`);
  // The archiver (as postgres) creates wal/ in it.
  spawnSync("chown", ["-R", "postgres", join(ws.dir, "repo")]);
  await cluster.psql(
    "CREATE TABLE lifeboat_test_markers (id serial PRIMARY KEY, label text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())",
  );
  return {
    cluster,
    ws,
    archiveCommand,
    async marker(label) {
      return Number(
        await cluster.psql(`INSERT INTO lifeboat_test_markers (label) VALUES ('${label}') RETURNING id`),
      );
    },
    async markersIn(psql) {
      const out = await psql("SELECT label FROM lifeboat_test_markers ORDER BY id");
      return out === "" ? [] : out.split("\n");
    },
    async switchAndWait() {
      const segment = await cluster.psql("SELECT pg_walfile_name(pg_switch_wal())");
      const deadline = Date.now() + 60_000;
      for (;;) {
        const last = await cluster.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
        if (last !== "" && last.slice(0, 24) >= segment) return segment;
        if (Date.now() > deadline)
          throw new Error(`segment ${segment} was not archived within 60s (last: ${last})`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      await cluster.stop();
      await ws.cleanup();
    },
  };
}

/** psql against a server a restore started on localhost:port. */
export { psqlAt };

/** Stop a server a restore started in `dataDir` and remove the directory. */
export function stopRestored(dataDir: string): void {
  spawnSync("runuser", [
    "-u",
    "postgres",
    "--",
    "/usr/lib/postgresql/15/bin/pg_ctl",
    "stop",
    "-D",
    dataDir,
    "-m",
    "immediate",
    "-s",
  ]);
  spawnSync("rm", ["-rf", dataDir]);
}
