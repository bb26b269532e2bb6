// The postgres engine's overlap of repository work with pg_dump and
// pg_restore, against a real server: restores in phases with large tables cut
// into pieces (forced small here) give the same database as a plain restore,
// empty tables and many tables included, with each table's own indexes and
// key constraints built as soon as its data is in; a damaged artifact found while
// pg_restore already runs fails with CHECKSUM_MISMATCH and leaves no target,
// no partial database and no pg_restore process; and the capture's spool
// watcher stores only files no pg_dump process holds open.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ArtifactSink, EngineContext } from "../src/engines/engine.ts";
import { defaultLoadTuning, type LoadTuning } from "../src/engines/postgres/data-load.ts";
import { DumpUpload } from "../src/engines/postgres/dump-upload.ts";
import { postgresEngine } from "../src/engines/postgres/index.ts";
import { planEarlyPostData } from "../src/engines/postgres/early-post-data.ts";
import { restore } from "../src/engines/postgres/restore.ts";
import { parseToc } from "../src/engines/postgres/toc-file.ts";
import { SpoolWatcher } from "../src/engines/postgres/spool-watch.ts";
import { isLifeboatError } from "../src/errors.ts";
import { silentLogger } from "../src/runtime/logger.ts";
import { processRunner } from "../src/runtime/process.ts";
import { CorruptArtifacts } from "./support/memory-artifacts.ts";
import { startCluster, type PgCluster } from "./support/pg-cluster.ts";

/** Tiny pieces and batches, so a small database goes through every path: pieces, several batches, the rest. */
const tinyPieces: LoadTuning = {
  ...defaultLoadTuning,
  splitAboveBytes: 20_000,
  pieceBytes: 8_000,
  batchBytes: 2_000,
  batchFiles: 7,
};

const manyTablesSql = `
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO shop.customers SELECT i, 'customer ' || i FROM generate_series(1, 300) AS i;
CREATE TABLE shop.orders (id bigserial PRIMARY KEY, customer int REFERENCES shop.customers, note text, at date);
INSERT INTO shop.orders (customer, note, at)
  SELECT 1 + i % 300, CASE WHEN i % 7 = 0 THEN E'multi\\nline\\ttab \\\\ back' ELSE md5(i::text) END, date '2024-01-01' + i % 365
  FROM generate_series(1, 20000) AS i;
CREATE INDEX orders_at ON shop.orders (at);
COMMENT ON INDEX shop.orders_at IS 'by day';
ALTER TABLE shop.orders CLUSTER ON orders_at;
CREATE FUNCTION shop.folded(text) RETURNS text IMMUTABLE LANGUAGE sql AS 'SELECT lower($1)';
CREATE INDEX customers_folded ON shop.customers (shop.folded(name));
ALTER TABLE shop.customers ADD CONSTRAINT customers_name_unique UNIQUE (name);
ALTER TABLE shop.customers ADD CONSTRAINT customers_name_set CHECK (name <> '') NOT VALID;
CREATE TABLE shop.nicknames (name text REFERENCES shop.customers (name), nick text);
INSERT INTO shop.nicknames SELECT name, 'nick ' || id FROM shop.customers WHERE id % 10 = 0;
CREATE TABLE shop.events (id int NOT NULL, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE shop.events_2024 PARTITION OF shop.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE shop.events_2025 PARTITION OF shop.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE INDEX events_at ON shop.events (at);
INSERT INTO shop.events SELECT i, date '2024-01-01' + i % 700 FROM generate_series(1, 3000) AS i;
CREATE MATERIALIZED VIEW shop.order_counts AS SELECT customer, count(*) AS n FROM shop.orders GROUP BY customer;
CREATE SEQUENCE shop.tickets START 100;
SELECT setval('shop.tickets', 4242);
SELECT lo_from_bytea(0, 'large object body');
DO $$ BEGIN
  FOR i IN 1..50 LOOP
    EXECUTE format('CREATE TABLE public.t%s (id int, v text)', i);
    IF i % 3 <> 0 THEN  -- every third table stays empty
      EXECUTE format('INSERT INTO public.t%s SELECT g, repeat(''x'', %s) FROM generate_series(1, %s) AS g', i, i, i * 10);
    END IF;
  END LOOP;
END $$;
`;

/** pg_dump ≥ 15.14 brackets its output with \\restrict / \\unrestrict and a random key: the only run-dependent lines. */
function normalizeDump(text: string): string {
  return text.replace(/^\\(un)?restrict \S+$/gm, "\\$1restrict <key>");
}

/** Processes whose command line mentions `text` (a restore's temp dir). */
async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(text)) found.push(cmdline.replaceAll("\0", " "));
  }
  return found;
}

const tempDirs: string[] = [];
async function makeContext(): Promise<EngineContext> {
  const tempDir = await mkdtemp(join(tmpdir(), "lifeboat-pg-pipelined-"));
  tempDirs.push(tempDir);
  return { runner: processRunner, log: silentLogger, tempDir };
}

describe("postgres engine: overlapped capture and restore", () => {
  let cluster: PgCluster;
  let artifacts: CorruptArtifacts;
  let engineMeta: Record<string, unknown>;

  before(async () => {
    cluster = await startCluster();
    await cluster.psql("CREATE DATABASE app");
    await cluster.psql(manyTablesSql, "app");
    artifacts = new CorruptArtifacts();
    const captured = await postgresEngine.capture(
      { engine: "postgres", url: cluster.url("app"), globals: false, jobs: 2 },
      artifacts,
      await makeContext(),
    );
    engineMeta = captured.engineMeta;
  });

  after(async () => {
    await cluster?.stop();
    await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it("captures every table's data file once, and toc.dat", () => {
    const names = artifacts.artifacts.map((artifact) => artifact.name);
    assert.equal(new Set(names).size, names.length);
    assert.ok(names.includes("dump/toc.dat"));
    // 50 + customers, orders, nicknames and two partitions: table data files; the large object's files.
    assert.equal(names.filter((name) => /^dump\/\d+\.dat$/.test(name)).length, 55);
    assert.ok(names.some((name) => /^dump\/blob_\d+\.dat$/.test(name)));
  });

  it("plans a table's own indexes and key constraints early, foreign keys and attachments last", async () => {
    const toc = parseToc(artifacts.stored.get("dump/toc.dat")!);
    const name = (id: number) => toc.entries.find((entry) => entry.dumpId === id)!.tag;
    const dataOf = (table: string) =>
      toc.entries.find((entry) => entry.desc === "TABLE DATA" && entry.tag === table)!.dumpId;
    const plan = planEarlyPostData(toc.entries);
    const early = (table: string) => (plan.afterTableData.get(dataOf(table)) ?? []).map(name).sort();
    assert.deepEqual(early("customers"), [
      "customers customers_name_set",
      "customers customers_name_unique",
      "customers customers_pkey",
      "customers_folded",
    ]);
    assert.deepEqual(early("orders"), ["orders orders_pkey", "orders_at"]);
    // A partition's index and key depend on its parent's (built last), so they wait too.
    assert.deepEqual(early("events_2024"), []);
    const planned = new Set([...plan.afterTableData.values()].flat());
    for (const entry of toc.entries.filter((entry) => entry.section === "post-data")) {
      if (["FK CONSTRAINT", "INDEX ATTACH", "COMMENT"].includes(entry.desc)) {
        assert.ok(!planned.has(entry.dumpId), `${entry.desc} ${entry.tag} waits for the final run`);
      }
    }
    // The partitioned parent's own key has no data of its own: built last.
    assert.ok(toc.entries.some((entry) => entry.tag === "events events_pkey" && !planned.has(entry.dumpId)));
  });

  it("restores pieces, batches of small and empty tables and the rest into the same database as one pg_restore", async () => {
    const input = { artifacts, engineMeta };
    const runs: string[][] = [];
    const recording = await makeContext();
    const context: EngineContext = {
      ...recording,
      runner: {
        run: (command, args, options) => {
          if (command === "pg_restore") runs.push([...args]);
          return processRunner.run(command, args, options);
        },
        start: (command, args, options) => processRunner.start(command, args, options),
      },
    };
    await restore(input, cluster.url("phased"), { jobs: 2 }, context, tinyPieces);
    const postData = runs.filter((args) => args.includes("--section=post-data"));
    assert.ok(postData.length >= 3, "indexes were built per table while data loaded, then the rest");
    assert.ok(postData.every((args) => args.some((arg) => arg.startsWith("--use-list="))));
    assert.ok(postData.at(-1)!.includes("--jobs=2"), "the final post-data run is parallel");
    await restore(input, cluster.url("staged"), { jobs: 2 }, await makeContext(), false);
    const [source, phased, staged] = await Promise.all(
      ["app", "phased", "staged"].map(async (db) => normalizeDump(await cluster.dumpPlain(db))),
    );
    assert.equal(phased, source);
    assert.equal(staged, source);
    assert.equal(
      await cluster.psql("SELECT count(*) FROM shop.orders WHERE note LIKE E'multi\\nline%'", "phased"),
      "2857",
    );
    assert.equal(await cluster.psql("SELECT last_value FROM shop.tickets", "phased"), "4242");
    assert.equal(await cluster.psql("SELECT count(*) FROM pg_largeobject_metadata", "phased"), "1");
    const ordersFile = artifacts.artifacts
      .filter((artifact) => /^dump\/\d+\.dat$/.test(artifact.name))
      .sort((left, right) => right.size - left.size)[0]!;
    assert.ok(ordersFile.size > 10 * tinyPieces.pieceBytes, "the largest table was cut into many pieces");
  });

  for (const which of ["the largest table (loaded in pieces)", "a small table (loaded in a batch)"]) {
    it(`fails with CHECKSUM_MISMATCH on a damaged artifact of ${which}, leaving no database and no pg_restore`, async () => {
      const tables = artifacts.artifacts
        .filter((artifact) => /^dump\/\d+\.dat$/.test(artifact.name) && artifact.size > 0)
        .sort((left, right) => right.size - left.size);
      artifacts.corrupt = which.startsWith("the largest") ? tables[0]!.name : tables.at(-1)!.name;
      const context = await makeContext();
      try {
        await assert.rejects(
          restore({ artifacts, engineMeta }, cluster.url("damaged"), { jobs: 2 }, context, tinyPieces),
          (error) => isLifeboatError(error, "CHECKSUM_MISMATCH") && error.message.includes(artifacts.corrupt),
        );
      } finally {
        artifacts.corrupt = "";
      }
      assert.equal(
        await cluster.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'damaged%'"),
        "0",
        "neither the target nor a partial database exists",
      );
      assert.deepEqual(await processesMentioning(context.tempDir), [], "no pg_restore outlives the restore");
    });
  }

  it("reports a data file as finished only once no pg_dump process holds it open", async () => {
    const base = await realpath(await mkdtemp(join(tmpdir(), "lifeboat-spool-")));
    tempDirs.push(base);
    const dumpDir = join(base, "dump");
    await mkdir(dumpDir);
    // A stand-in for pg_dump (found by its --file argument): writes 1.dat and 2.dat, keeps 2.dat open until told.
    const writer = spawn(
      "sh",
      [
        "-c",
        'cd "$1" && echo one > 1.dat && exec 3> 2.dat && echo two >&3 && echo ready && read go && exec 3>&-; read end',
        "sh",
        dumpDir,
        `--file=${dumpDir}`,
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    try {
      await new Promise<void>((resolve) => writer.stdout.once("data", () => resolve()));
      const watcher = new SpoolWatcher(dumpDir, dumpDir);
      assert.deepEqual(watcher.poll(), { finished: ["1.dat"], writing: ["2.dat"] });
      watcher.taken("1.dat");
      assert.deepEqual(watcher.poll(), { finished: [], writing: ["2.dat"] });
      assert.equal(watcher.isWriting("2.dat"), true);
      writer.stdin.write("go\n");
      let found = watcher.poll();
      for (let polls = 0; found?.finished.length === 0 && polls < 200; polls++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        found = watcher.poll();
      }
      assert.deepEqual(found, { finished: ["2.dat"], writing: [] });
      assert.equal(watcher.isWriting("2.dat"), false);
    } finally {
      writer.stdin.end();
      writer.kill();
    }
  });

  it("follows a file pg_dump is still writing and stores all of it once pg_dump closed it", async () => {
    const base = await realpath(await mkdtemp(join(tmpdir(), "lifeboat-spool-")));
    tempDirs.push(base);
    const dumpDir = join(base, "dump");
    await mkdir(dumpDir);
    // Stand-in for pg_dump: writes the first half of 7.dat, waits, writes the rest, closes it, waits.
    const writer = spawn(
      "sh",
      [
        "-c",
        'cd "$1" && exec 3> 7.dat && echo first-half >&3 && read go && echo second-half >&3 && exec 3>&- && echo closed && read end',
        "sh",
        dumpDir,
        `--file=${dumpDir}`,
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const received = new Map<string, string>();
    const sink: ArtifactSink = {
      async write(name, data) {
        received.set(name, "");
        for await (const chunk of data)
          received.set(name, received.get(name)! + Buffer.from(chunk).toString());
        const bytes = Buffer.from(received.get(name)!);
        return { name, size: bytes.length, sha256: "", chunks: [] };
      },
    };
    const upload = new DumpUpload({
      sink,
      prefix: "dump/",
      dumpDir,
      canonicalDumpDir: dumpDir,
      log: silentLogger,
      onFailure: (error) => assert.fail(String(error)),
    });
    try {
      // The first half reaches the sink while the writer still holds the file open.
      for (let polls = 0; received.get("dump/7.dat") !== "first-half\n"; polls++) {
        if (polls > 400) assert.fail("the open file was never followed");
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      writer.stdin.write("go\n");
      await new Promise<void>((resolve) => writer.stdout.once("data", () => resolve()));
      await writeFile(join(dumpDir, "toc.dat"), "toc"); // what pg_dump's leader writes last
      writer.stdin.end(); // pg_dump "exits"
      await new Promise((resolve) => writer.once("close", resolve));
      await upload.finish();
      assert.equal(received.get("dump/7.dat"), "first-half\nsecond-half\n");
      assert.equal(received.get("dump/toc.dat"), "toc");
      assert.deepEqual(await readdir(dumpDir), [], "stored files leave the spool");
    } finally {
      writer.kill();
      await upload.abandon();
    }
  });
});
