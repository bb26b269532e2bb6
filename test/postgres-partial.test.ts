// Table restores of a PostgreSQL snapshot against a real server: two related
// tables come back exactly (rows, sequences, constraints, indexes, triggers)
// with only toc.dat and their own data files read; the referencing table
// alone is refused naming the other, leaving nothing at the target; foreign
// keys can be left out; a whole schema; unknown names; a damaged data file.
// Also: our toc.dat parser against `pg_restore --list` of the same dump.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import type { Snapshot } from "../src/domain/snapshot.ts";
import type { EngineContext, RestoreSelection } from "../src/engines/engine.ts";
import { postgresEngine } from "../src/engines/postgres/index.ts";
import { parseToc, qualifiedTag, type TocEntry } from "../src/engines/postgres/toc-file.ts";
import { isLifeboatError } from "../src/errors.ts";
import { restoreAndVerify } from "../src/operations/restore-and-verify.ts";
import { processRunner } from "../src/runtime/process.ts";
import { CorruptArtifacts } from "./support/memory-artifacts.ts";
import { startCluster, type PgCluster } from "./support/pg-cluster.ts";

const fixtureSql = `
CREATE SCHEMA billing;
CREATE TYPE billing.status AS ENUM ('draft', 'sent', 'paid');
CREATE DOMAIN billing.cents AS bigint CHECK (VALUE >= 0);
CREATE FUNCTION billing.default_ref() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'INV' $$;
CREATE FUNCTION billing.positive(bigint) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 > 0';
CREATE FUNCTION billing.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := '2030-01-01'; RETURN NEW; END $$;
CREATE TABLE billing.customers (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE billing.invoices (
  id serial PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES billing.customers (id),
  status billing.status NOT NULL DEFAULT 'draft',
  amount billing.cents NOT NULL CHECK (billing.positive(amount)),
  ref text NOT NULL DEFAULT billing.default_ref(),
  updated_at timestamptz
);
CREATE INDEX invoices_customer ON billing.invoices (customer_id);
CREATE TRIGGER invoices_touch BEFORE UPDATE ON billing.invoices FOR EACH ROW EXECUTE FUNCTION billing.touch();
COMMENT ON TABLE billing.invoices IS 'issued invoices';
INSERT INTO billing.customers (name) SELECT 'customer ' || i FROM generate_series(1, 20) AS i;
INSERT INTO billing.invoices (customer_id, status, amount)
  SELECT 1 + i % 20, (ARRAY['draft', 'sent', 'paid']::billing.status[])[1 + i % 3], 100 + i FROM generate_series(1, 300) AS i;
DELETE FROM billing.invoices WHERE id > 290;
CREATE TABLE billing.payments (id int, paid_on date NOT NULL, cents bigint) PARTITION BY RANGE (paid_on);
CREATE TABLE billing.payments_2024 PARTITION OF billing.payments FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE billing.payments_2025 PARTITION OF billing.payments FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO billing.payments SELECT i, date '2024-06-01' + i, i * 10 FROM generate_series(1, 400) AS i;
CREATE VIEW billing.open_invoices AS SELECT * FROM billing.invoices WHERE status <> 'paid';
CREATE TABLE public.events (id bigserial PRIMARY KEY, payload text);
INSERT INTO public.events (payload) SELECT repeat(md5(i::text), 8) FROM generate_series(1, 20000) AS i;
`;

/** Records every artifact a restore opens or saves. */
class RecordingArtifacts extends CorruptArtifacts {
  readonly read: string[] = [];
  override open(name: string): Readable {
    this.read.push(name);
    return super.open(name);
  }
  override async saveTo(name: string, path: string): Promise<void> {
    this.read.push(name);
    return super.saveTo(name, path);
  }
}

/** Write a directory-format toc.dat as pg_dump of archive version 1.<minor> would (WriteHead, WriteToc, WriteExtraToc). */
function encodeToc(entries: readonly TocEntry[], minor: number): Buffer {
  const parts: Buffer[] = [];
  const int = (value: number) => {
    const bytes = Buffer.alloc(5);
    bytes[0] = value < 0 ? 1 : 0;
    bytes.writeUInt32LE(Math.abs(value), 1);
    parts.push(bytes);
  };
  const str = (value: string | undefined) => {
    if (value === undefined) return int(-1);
    const bytes = Buffer.from(value, "utf8");
    int(bytes.length);
    parts.push(bytes);
  };
  parts.push(Buffer.from("PGDMP"), Buffer.from([1, minor, 0, 4, 8, 3]));
  if (minor >= 15) parts.push(Buffer.from([0]));
  else int(0);
  for (const value of [0, 0, 0, 1, 0, 125, 0]) int(value);
  str("app");
  str("15.20");
  str("15.20");
  int(entries.length);
  for (const entry of entries) {
    int(entry.dumpId);
    int(entry.hadDumper ? 1 : 0);
    str(String(entry.tableoid));
    str(String(entry.oid));
    str(entry.tag);
    str(entry.desc);
    int({ none: 1, "pre-data": 2, data: 3, "post-data": 4 }[entry.section]);
    str(entry.defn);
    str(entry.dropStmt);
    str(entry.copyStmt);
    str(entry.namespace ?? "");
    str(entry.tablespace ?? "");
    str(entry.tableam ?? "");
    if (minor >= 16) int(entry.relkind ? entry.relkind.charCodeAt(0) : 0);
    str(entry.owner ?? "");
    str("false");
    for (const id of entry.dependencies) str(String(id));
    str(undefined);
    str(entry.filename ?? "");
  }
  return Buffer.concat(parts);
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
let base: string;
let pg: PgCluster;
let artifacts: RecordingArtifacts;
let snapshot: Snapshot;
let toc: readonly TocEntry[];
let counter = 0;

async function context(): Promise<EngineContext> {
  return { runner: processRunner, log: silent, tempDir: await mkdtemp(join(base, "ctx-")) };
}

function dataFileOf(table: string): string {
  const entry = toc.find((e) => e.desc === "TABLE DATA" && qualifiedTag(e) === table);
  assert.ok(entry?.filename, `no data file for ${table}`);
  return `dump/${entry.filename}`;
}

async function restoreTables(selection: RestoreSelection, database = `restored_${++counter}`) {
  artifacts.read.length = 0;
  const result = await restoreAndVerify({
    engine: postgresEngine,
    snapshot,
    artifacts,
    target: pg.url(database),
    options: { selection },
    context: await context(),
    now: Date.now,
  });
  return { result, database };
}

async function databasesLike(prefix: string): Promise<string[]> {
  const out = await pg.psql(`SELECT datname FROM pg_database WHERE datname LIKE '${prefix}%' ORDER BY 1`);
  return out === "" ? [] : out.split("\n");
}

const rowsDigest = (table: string, db: string) =>
  pg.psql(`SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM ${table} t`, db);

describe("postgres table restore", () => {
  before(async () => {
    base = await mkdtemp(join(tmpdir(), "lifeboat-pg-partial-"));
    pg = await startCluster();
    await pg.psql("CREATE DATABASE app");
    await pg.psql(fixtureSql, "app");
    artifacts = new RecordingArtifacts();
    const captured = await postgresEngine.capture(
      { engine: "postgres", url: pg.url("app"), globals: false, jobs: 2, content_hashes: true } as never,
      artifacts,
      await context(),
    );
    snapshot = {
      id: "0".repeat(64),
      source: "app",
      engine: "postgres",
      startedAt: captured.consistentAt,
      finishedAt: captured.consistentAt,
      consistentAt: captured.consistentAt,
      hostname: "test",
      lifeboatVersion: "test",
      artifacts: artifacts.artifacts,
      engineMeta: captured.engineMeta,
      fingerprint: captured.fingerprint,
      tags: [],
    };
    toc = parseToc(artifacts.stored.get("dump/toc.dat")!).entries;
  });

  after(async () => {
    await pg?.stop();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it("parses toc.dat exactly as pg_restore --list does", async () => {
    const dir = await mkdtemp(join(base, "toc-"));
    await writeFile(join(dir, "toc.dat"), artifacts.stored.get("dump/toc.dat")!);
    const listed = spawnSync("pg_restore", ["--list", dir], { encoding: "utf8" });
    assert.equal(listed.status, 0, listed.stderr);
    const lines = listed.stdout.split("\n").filter((line) => /^\d+;/.test(line));
    // pg_restore --list leaves out only the session settings it applies itself and DATABASE (used with --create).
    const listedIds = new Set(lines.map((line) => Number(line.slice(0, line.indexOf(";")))));
    const unlisted = toc.filter((entry) => !listedIds.has(entry.dumpId)).map((entry) => entry.desc);
    assert.deepEqual(unlisted.sort(), ["DATABASE", "ENCODING", "SEARCHPATH", "STDSTRINGS"]);
    assert.equal(lines.length, toc.length - unlisted.length);
    const byId = new Map(toc.map((entry) => [entry.dumpId, entry]));
    for (const line of lines) {
      const id = Number(line.slice(0, line.indexOf(";")));
      const entry = byId.get(id);
      assert.ok(entry, `entry ${id} missing from our parse`);
      const expected = `${id}; ${entry.tableoid} ${entry.oid} ${entry.desc} ${entry.namespace ?? "-"} ${entry.tag} ${entry.owner ?? ""}`;
      assert.equal(line.trimEnd(), expected.trimEnd());
    }
    // Dependencies as pg_dump records them: the default on a function, the table on its check's function.
    const named = (desc: string, tag: string) => toc.find((e) => e.desc === desc && e.tag === tag)!;
    const invoices = named("TABLE", "invoices");
    assert.ok(invoices.dependencies.includes(named("FUNCTION", "positive(bigint)").dumpId));
    // pg_dump writes defaults inside CREATE TABLE: the table itself depends on the function a default calls.
    assert.ok(invoices.dependencies.includes(named("FUNCTION", "default_ref()").dumpId));
    assert.ok(
      named("TRIGGER", "invoices invoices_touch").dependencies.includes(named("FUNCTION", "touch()").dumpId),
    );
    assert.equal(named("TABLE DATA", "invoices").filename, dataFileOf("billing.invoices").slice(5));
  });

  it("reads the layouts of archive versions 1.15 (compression byte) and 1.16 (relkind)", async () => {
    const original = parseToc(artifacts.stored.get("dump/toc.dat")!);
    // The encoder is proved against pg_restore itself at 1.14 (all pg_restore 15 reads) ...
    const dir = await mkdtemp(join(base, "toc-encoded-"));
    await writeFile(join(dir, "toc.dat"), encodeToc(original.entries, 14));
    const relisted = spawnSync("pg_restore", ["--list", dir], { encoding: "utf8" });
    const listOf = (text: string) => text.split("\n").filter((line) => /^\d+;/.test(line));
    assert.equal(relisted.status, 0, relisted.stderr);
    assert.equal(listOf(relisted.stdout).length, original.entries.length - 4);
    // ... then writes the later layouts, which must read back to the same entries.
    for (const minor of [12, 15, 16]) {
      const withRelkind = original.entries.map((entry) => ({
        ...entry,
        relkind: minor >= 16 && entry.desc === "TABLE" ? "r" : undefined,
      }));
      const parsed = parseToc(encodeToc(withRelkind, minor));
      assert.equal(parsed.header.version, `1.${minor}.0`);
      assert.deepEqual(parsed.entries, withRelkind);
    }
  });

  it("refuses a damaged or truncated toc.dat with a clear code", () => {
    const data = artifacts.stored.get("dump/toc.dat")!;
    for (const damaged of [
      data.subarray(0, data.length - 7),
      Buffer.from("not a dump at all"),
      Buffer.alloc(0),
    ]) {
      assert.throws(
        () => parseToc(damaged),
        (error) => isLifeboatError(error, "CHECKSUM_MISMATCH") && /toc\.dat/.test(error.message),
      );
    }
  });

  it("restores two related tables exactly, reading only toc.dat and their data files", async () => {
    const { result, database } = await restoreTables({ tables: ["billing.invoices", "billing.customers"] });
    assert.deepEqual(result.partial?.tables, ["billing.customers", "billing.invoices"]);
    assert.deepEqual(result.partial?.leftOut, []);
    for (const word of [
      "schema billing",
      "type billing.status",
      "domain billing.cents",
      "function billing.default_ref()",
      "function billing.positive(bigint)",
      "function billing.touch()",
      "sequence billing.invoices_id_seq",
    ]) {
      assert.ok(
        result.partial?.dependencies?.includes(word),
        `${word} in ${result.partial?.dependencies?.join(", ")}`,
      );
    }
    assert.deepEqual(
      [...new Set(artifacts.read)].sort(),
      ["dump/toc.dat", dataFileOf("billing.customers"), dataFileOf("billing.invoices")].sort(),
    );
    for (const table of ["billing.customers", "billing.invoices"]) {
      assert.equal(await rowsDigest(table, database), await rowsDigest(table, "app"), table);
    }
    const sequences = `SELECT last_value || ',' || is_called FROM billing.invoices_id_seq UNION ALL SELECT last_value || ',' || is_called FROM billing.customers_id_seq`;
    assert.equal(await pg.psql(sequences, database), await pg.psql(sequences, "app"));
    assert.equal(await pg.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'events'", database), "0");
    assert.equal(
      await pg.psql("SELECT count(*) FROM pg_views WHERE viewname = 'open_invoices'", database),
      "0",
    );
    assert.equal(
      await pg.psql("SELECT count(*) FROM pg_indexes WHERE indexname = 'invoices_customer'", database),
      "1",
    );
    assert.equal(
      await pg.psql("SELECT obj_description('billing.invoices'::regclass)", database),
      "issued invoices",
    );
    // Constraints, defaults, the trigger and the identity work.
    await assert.rejects(
      pg.psql("INSERT INTO billing.invoices (customer_id, amount) VALUES (9999, 5)", database),
      /foreign key/,
    );
    await assert.rejects(
      pg.psql("INSERT INTO billing.invoices (customer_id, amount) VALUES (1, 0)", database),
      /check constraint/,
    );
    assert.equal(
      await pg.psql(
        "INSERT INTO billing.invoices (customer_id, amount) VALUES (1, 5) RETURNING id || ref || status",
        database,
      ),
      "303INVdraft" /* the two refused inserts took 301 and 302 */,
    );
    assert.equal(
      await pg.psql(
        "UPDATE billing.invoices SET amount = 6 WHERE id = 1 RETURNING updated_at::date",
        database,
      ),
      "2030-01-01",
    );
    assert.equal(
      await pg.psql("INSERT INTO billing.customers (name) VALUES ('new') RETURNING id", database),
      "21",
    );
    assert.deepEqual(await databasesLike(`${database}_lifeboat_partial`), []);
  });

  it("refuses the referencing table alone, naming the table it needs, and creates nothing", async () => {
    await assert.rejects(restoreTables({ tables: ["billing.invoices"] }, "refused_target"), (error) => {
      assert.ok(isLifeboatError(error, "BAD_ARGUMENT"), String(error));
      assert.match(error.message, /billing\.customers/);
      assert.match(error.message, /foreign key/);
      assert.match(error.hint, /--table billing\.customers/);
      assert.match(error.hint, /--no-foreign-keys/);
      return true;
    });
    assert.deepEqual(await databasesLike("refused_target"), []);
    assert.deepEqual([...new Set(artifacts.read)], ["dump/toc.dat"]);
  });

  it("leaves the foreign key out with noForeignKeys and says so", async () => {
    const { result, database } = await restoreTables({ tables: ["billing.invoices"], noForeignKeys: true });
    assert.equal(result.partial?.leftOut?.length, 1);
    assert.match(result.partial!.leftOut![0]!, /invoices_customer_id_fkey.*billing\.customers/);
    assert.equal(await rowsDigest("billing.invoices", database), await rowsDigest("billing.invoices", "app"));
    assert.equal(await pg.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'billing'", database), "1");
    assert.equal(
      await pg.psql(
        "INSERT INTO billing.invoices (customer_id, amount) VALUES (9999, 5) RETURNING customer_id",
        database,
      ),
      "9999",
    );
  });

  it("restores the referenced table alone (the other table's foreign key is not its own)", async () => {
    const { result, database } = await restoreTables({ tables: ["billing.customers"] });
    assert.deepEqual(result.partial?.leftOut, []);
    assert.equal(
      await rowsDigest("billing.customers", database),
      await rowsDigest("billing.customers", "app"),
    );
    assert.deepEqual(
      [...new Set(artifacts.read)].sort(),
      ["dump/toc.dat", dataFileOf("billing.customers")].sort(),
    );
  });

  it("restores a partitioned table with its partitions, and refuses a partition without its parent", async () => {
    const { result, database } = await restoreTables({ tables: ["billing.payments"] });
    assert.deepEqual(result.partial?.tables, [
      "billing.payments",
      "billing.payments_2024",
      "billing.payments_2025",
    ]);
    assert.equal(await rowsDigest("billing.payments", database), await rowsDigest("billing.payments", "app"));
    await assert.rejects(
      restoreTables({ tables: ["billing.payments_2024"] }, "partition_target"),
      (error) => isLifeboatError(error, "BAD_ARGUMENT") && /billing\.payments\b/.test(error.message),
    );
    assert.deepEqual(await databasesLike("partition_target"), []);
  });

  it("restores every table of a schema", async () => {
    const { result, database } = await restoreTables({ schemas: ["billing"] });
    assert.deepEqual(result.partial?.tables, [
      "billing.customers",
      "billing.invoices",
      "billing.payments",
      "billing.payments_2024",
      "billing.payments_2025",
    ]);
    assert.equal(
      await pg.psql(
        "SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
        database,
      ),
      "billing.customers,billing.invoices,billing.payments,billing.payments_2024,billing.payments_2025",
    );
    assert.ok(!artifacts.read.includes(dataFileOf("public.events")));
  });

  it("names the tables there are when asked for an unknown one", async () => {
    await assert.rejects(restoreTables({ tables: ["billing.invoice"] }, "unknown_target"), (error) => {
      assert.ok(isLifeboatError(error, "BAD_ARGUMENT"), String(error));
      assert.match(error.message, /no table billing\.invoice;.*billing\.invoices/);
      return true;
    });
    await assert.rejects(
      restoreTables({ schemas: ["bill"] }, "unknown_target"),
      (error) => isLifeboatError(error, "BAD_ARGUMENT") && /billing/.test(error.message),
    );
    assert.deepEqual(await databasesLike("unknown_target"), []);
  });

  it("fails on a damaged data file of a chosen table and leaves no database", async () => {
    artifacts.corrupt = dataFileOf("billing.customers");
    try {
      await assert.rejects(
        restoreTables({ tables: ["billing.invoices", "billing.customers"] }, "damaged_target"),
        (error) => isLifeboatError(error, "CHECKSUM_MISMATCH"),
      );
    } finally {
      artifacts.corrupt = "";
    }
    assert.deepEqual(await databasesLike("damaged_target"), []);
  });

  it("describes the snapshot from toc.dat alone", async () => {
    artifacts.read.length = 0;
    const contents = await postgresEngine.describeSnapshot!(snapshot, artifacts, await context());
    assert.deepEqual(artifacts.read, ["dump/toc.dat"]);
    assert.equal(contents.kind, "objects");
    if (contents.kind !== "objects") return;
    const find = (type: string, name: string) =>
      contents.objects.find((o) => o.type === type && o.name === name);
    const invoices = find("table", "billing.invoices");
    assert.equal(invoices?.rows, 290);
    assert.equal(invoices?.bytes, artifacts.stored.get(dataFileOf("billing.invoices"))!.length);
    assert.equal(find("table", "public.events")?.rows, 20000);
    for (const [type, name] of [
      ["view", "billing.open_invoices"],
      ["schema", "billing"],
      ["type", "billing.status"],
      ["domain", "billing.cents"],
      ["function", "billing.touch()"],
      ["index", "billing.invoices_customer"],
      ["fk constraint", "billing.invoices invoices_customer_id_fkey"],
      ["trigger", "billing.invoices invoices_touch"],
      ["sequence", "billing.invoices_id_seq"],
    ]) {
      assert.ok(
        find(type!, name!),
        `${type} ${name} in ${JSON.stringify(contents.objects.map((o) => `${o.type} ${o.name}`))}`,
      );
    }
    assert.ok(
      !contents.objects.some((o) => ["table data", "comment", "acl", "sequence set"].includes(o.type)),
    );
    // Without toc.dat (a physical snapshot): the fingerprint's tables.
    const physical = await postgresEngine.describeSnapshot!(
      { ...snapshot, artifacts: [] },
      artifacts,
      await context(),
    );
    assert.deepEqual(
      physical.kind === "objects" && physical.objects.find((o) => o.name === "billing.invoices"),
      {
        type: "table",
        name: "billing.invoices",
        rows: 290,
      },
    );
  });
});
