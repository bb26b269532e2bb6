// A throwaway mariadbd for bench/redis-mariadb.ts and its generated `shop`
// database. The server: mariadb-install-db into the bench's work dir, then
// `mariadbd --no-defaults` (the host's my.cnf cannot change the result) on a
// free loopback port, root without a password, MariaDB's defaults except a
// 512 MiB buffer pool (a 1 GB database in the default 128 MiB would measure
// mostly the disk) and no binary log (the default without a config file).
//
// The data: four tables with numeric and text columns, written as TSV files
// and loaded with LOAD DATA INFILE (fast, no client round trips):
//   customers   ids, names, e-mails, balances, a sentence of notes (compressible)
//   orders      numbers, statuses, dates, an address (compressible), KEY(customer_id)
//   events      log lines with timestamps and levels (compressible), KEY(ts)
//   attachments base64 of fresh random bytes, ~3 KB a row (incompressible beyond base64's 3/4)

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { once } from "node:events";
import { freePort, runTool } from "./pg-cluster.ts";
import { prng } from "./prng.ts";

export interface BenchMariadb {
  readonly port: number;
  readonly dir: string;
  /** Runs SQL with the mariadb client (batch, no column names) and returns its output. */
  sql(query: string, database?: string): Promise<string>;
  stop(): Promise<void>;
}

export const shopTables = ["customers", "orders", "events", "attachments"] as const;

export const clientArgs = (port: number) => ["-h", "127.0.0.1", "-P", String(port), "-u", "root"];

export async function startBenchMariadb(baseDir: string): Promise<BenchMariadb> {
  const dir = join(baseDir, "mariadb");
  const datadir = join(dir, "data");
  await mkdir(dir, { recursive: true });
  const asRoot = process.getuid?.() === 0 ? ["--user=root"] : [];
  const installed = await runTool("mariadb-install-db", [
    "--no-defaults",
    `--datadir=${datadir}`,
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
    ...asRoot,
  ]);
  if (installed.code !== 0) throw new Error(`mariadb-install-db failed: ${installed.stderr}`);
  const port = await freePort();
  const child: ChildProcess = spawn(
    "/usr/sbin/mariadbd",
    [
      "--no-defaults",
      `--datadir=${datadir}`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      `--socket=${join(dir, "mysqld.sock")}`,
      `--pid-file=${join(dir, "mysqld.pid")}`,
      `--log-error=${join(dir, "error.log")}`,
      "--innodb-buffer-pool-size=512M",
      `--secure-file-priv=${baseDir}`,
      ...asRoot,
    ],
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const sql = async (query: string, database?: string) => {
    const outcome = await runTool("mariadb", [
      ...clientArgs(port),
      "-N",
      "-B",
      "-e",
      query,
      ...(database ? [database] : []),
    ]);
    if (outcome.code !== 0) throw new Error(`mariadb -e ${query.slice(0, 200)}: ${outcome.stderr.trim()}`);
    return outcome.stdout;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await sql("SELECT 1");
      break;
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return {
    port,
    dir,
    sql,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}

const words =
  "order shipped payment pending refund customer cart checkout warehouse invoice account street avenue road berlin paris lyon munich garden station express standard returned gift wrap fragile weekend morning evening".split(
    " ",
  );
const statuses = ["new", "paid", "shipped", "delivered", "returned", "cancelled"];
const levels = ["INFO", "INFO", "INFO", "WARN", "ERROR", "DEBUG"];

const schema = `
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, email VARCHAR(128) NOT NULL,
  country CHAR(2) NOT NULL, created_at DATETIME NOT NULL, balance DECIMAL(12,2) NOT NULL, notes TEXT) ENGINE=InnoDB;
CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, status VARCHAR(16) NOT NULL,
  total DECIMAL(12,2) NOT NULL, items SMALLINT NOT NULL, created_at DATETIME NOT NULL,
  shipping_address VARCHAR(255) NOT NULL, KEY (customer_id)) ENGINE=InnoDB;
CREATE TABLE events (id BIGINT PRIMARY KEY, ts DATETIME(6) NOT NULL, level VARCHAR(8) NOT NULL,
  source VARCHAR(32) NOT NULL, message TEXT NOT NULL, KEY (ts)) ENGINE=InnoDB;
CREATE TABLE attachments (id INT PRIMARY KEY, customer_id INT NOT NULL, mime VARCHAR(32) NOT NULL,
  payload MEDIUMTEXT NOT NULL) ENGINE=InnoDB;`;

const date = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 19).replace("T", " ");

/** Rows per table as TSV lines, until each table's share of `megabytes` is written. */
function tableRows(table: (typeof shopTables)[number], budget: number, random: () => number) {
  const phrase = (n: number) =>
    Array.from({ length: n }, () => words[Math.floor(random() * words.length)]).join(" ");
  return function* (): Generator<string> {
    for (let id = 1, bytes = 0; bytes < budget; id++) {
      let line: string;
      if (table === "customers")
        line = `${id}\tcustomer ${id}\tc${id}@example.com\t${["DE", "FR", "US", "GB"][id % 4]}\t${date(1.6e9 + id * 60)}\t${(random() * 1e4).toFixed(2)}\t${phrase(25)}`;
      else if (table === "orders")
        line = `${id}\t${1 + Math.floor(random() * 100_000)}\t${statuses[id % statuses.length]}\t${(random() * 500).toFixed(2)}\t${1 + (id % 9)}\t${date(1.65e9 + id * 7)}\t${Math.floor(random() * 300)} ${phrase(4)} ${10_000 + (id % 89_999)} ${phrase(1)}`;
      else if (table === "events")
        line = `${id}\t${date(1.7e9 + Math.floor(id / 3))}.${String(id % 1e6).padStart(6, "0")}\t${levels[id % levels.length]}\tsvc-${id % 12}\trequest ${id} ${phrase(14)} took ${Math.floor(random() * 900)} ms`;
      else
        line = `${id}\t${1 + Math.floor(random() * 100_000)}\t${id % 3 === 0 ? "image/png" : "application/pdf"}\t${randomBytes(2304).toString("base64")}`;
      bytes += line.length + 1;
      yield line + "\n";
    }
  };
}

/** Creates `shop` with about `megabytes` MB of rows (as TSV text). */
export async function populateShop(server: BenchMariadb, workDir: string, megabytes: number): Promise<void> {
  await server.sql("CREATE DATABASE shop CHARACTER SET utf8mb4");
  await server.sql(schema, "shop");
  const shares = { customers: 0.15, orders: 0.25, events: 0.3, attachments: 0.3 };
  const random = prng(7);
  for (const table of shopTables) {
    const file = join(workDir, `${table}.tsv`);
    const out = createWriteStream(file);
    for (const line of tableRows(table, megabytes * 1e6 * shares[table], random)()) {
      if (!out.write(line)) await once(out, "drain");
    }
    out.end();
    await once(out, "finish");
    await server.sql(`LOAD DATA INFILE '${file}' INTO TABLE ${table}`, "shop");
    await rm(file, { force: true });
  }
}

/** Row count and CHECKSUM TABLE per table: what a restore must reproduce. */
export async function shopContent(server: BenchMariadb, database: string): Promise<string> {
  const parts: string[] = [];
  for (const table of shopTables) {
    const count = (await server.sql(`SELECT COUNT(*) FROM \`${table}\``, database)).trim();
    const checksum = (await server.sql(`CHECKSUM TABLE \`${table}\``, database)).trim().split("\t")[1];
    parts.push(`${table}=${count} (checksum ${checksum})`);
  }
  return parts.join(", ");
}

/** Waits (up to 2 min) until InnoDB has flushed its dirty pages, so one run's writes do not land on the next run's clock. */
export async function settle(server: BenchMariadb): Promise<void> {
  const deadline = Date.now() + 120_000;
  await server.sql("SET GLOBAL innodb_max_dirty_pages_pct = 0");
  while (Date.now() < deadline) {
    const dirty = Number(
      (await server.sql("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'")).split("\t")[1],
    );
    if (dirty < 100) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await server.sql("SET GLOBAL innodb_max_dirty_pages_pct = 90");
}
