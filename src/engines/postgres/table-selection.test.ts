import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLifeboatError } from "../../errors.ts";
import { selectTables } from "./table-selection.ts";
import type { TocEntry } from "./toc-file.ts";

/** A TOC entry with just what selection reads. */
function entry(
  dumpId: number,
  desc: string,
  namespace: string | undefined,
  tag: string,
  dependencies: number[] = [],
  filename?: string,
): TocEntry {
  return {
    dumpId,
    hadDumper: desc === "TABLE DATA",
    tableoid: 0,
    oid: 0,
    tag,
    desc,
    section: "pre-data",
    defn: undefined,
    dropStmt: undefined,
    copyStmt: undefined,
    namespace,
    tablespace: undefined,
    tableam: undefined,
    relkind: undefined,
    owner: "postgres",
    dependencies,
    filename,
  };
}

// billing: customers <- invoices (FK); an enum, a function for a default, a serial sequence;
// a view over invoices; public.events (inherits nothing); public.child INHERITS public.events.
const toc: TocEntry[] = [
  entry(1, "ENCODING", undefined, "ENCODING"),
  entry(2, "SCHEMA", undefined, "billing"),
  entry(3, "TYPE", "billing", "status", [2]),
  entry(4, "FUNCTION", "billing", "default_ref()", [2]),
  entry(5, "TABLE", "billing", "customers", [2]),
  entry(6, "TABLE", "billing", "invoices", [3]),
  entry(7, "SEQUENCE", "billing", "invoices_id_seq", [2]),
  entry(8, "SEQUENCE OWNED BY", "billing", "invoices_id_seq", [6, 7]),
  entry(9, "DEFAULT", "billing", "invoices id", [6, 7]),
  entry(10, "DEFAULT", "billing", "invoices ref", [6, 4]),
  entry(11, "VIEW", "billing", "open_invoices", [6]),
  entry(12, "TABLE", "public", "events"),
  entry(13, "TABLE", "public", "child", [12]),
  entry(20, "TABLE DATA", "billing", "customers", [5], "20.dat"),
  entry(21, "TABLE DATA", "billing", "invoices", [6], "21.dat"),
  entry(22, "TABLE DATA", "public", "events", [12], "22.dat"),
  entry(23, "SEQUENCE SET", "billing", "invoices_id_seq", [7]),
  entry(30, "CONSTRAINT", "billing", "customers customers_pkey", [5]),
  entry(31, "CONSTRAINT", "billing", "invoices invoices_pkey", [6]),
  entry(32, "INDEX", "billing", "invoices_customer", [6]),
  entry(33, "COMMENT", "billing", "INDEX invoices_customer", [32]),
  entry(34, "FK CONSTRAINT", "billing", "invoices invoices_customer_id_fkey", [6, 30]),
  entry(35, "ACL", undefined, "SCHEMA billing", [2]),
  entry(36, "ACL", "billing", "TABLE open_invoices", [11]),
];

const ids = (plan: ReturnType<typeof selectTables>) => plan.entries.map((e) => e.dumpId);

describe("selectTables", () => {
  it("takes two related tables with what they need and what belongs to them, not the view", () => {
    const plan = selectTables(toc, { tables: ["billing.invoices", "billing.customers"] });
    assert.deepEqual(ids(plan), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 21, 23, 30, 31, 32, 33, 34, 35]);
    assert.deepEqual(plan.tables, ["billing.customers", "billing.invoices"]);
    assert.deepEqual(plan.dataFiles, ["20.dat", "21.dat"]);
    assert.deepEqual(plan.leftOut, []);
    assert.ok(plan.dependencies.includes("sequence billing.invoices_id_seq"));
    assert.ok(plan.dependencies.includes("type billing.status"));
    assert.ok(plan.dependencies.includes("function billing.default_ref()"));
    assert.ok(plan.dependencies.includes("fk constraint invoices_customer_id_fkey on billing.invoices"));
    assert.deepEqual(plan.viewsNotRestored, ["view billing.open_invoices"]);
  });

  it("refuses the referencing table alone, naming the referenced one", () => {
    assert.throws(
      () => selectTables(toc, { tables: ["billing.invoices"] }),
      (error) =>
        isLifeboatError(error, "BAD_ARGUMENT") &&
        /billing\.customers \(foreign key invoices_customer_id_fkey on billing\.invoices\)/.test(
          error.message,
        ) &&
        /--table billing\.customers, or pass --no-foreign-keys/.test(error.hint),
    );
  });

  it("leaves the foreign key out with noForeignKeys", () => {
    const plan = selectTables(toc, { tables: ["billing.invoices"], noForeignKeys: true });
    assert.ok(!ids(plan).includes(34) && !ids(plan).includes(5) && !ids(plan).includes(30));
    assert.deepEqual(plan.leftOut, [
      "foreign key invoices_customer_id_fkey on billing.invoices (references billing.customers)",
    ]);
    assert.deepEqual(plan.dataFiles, ["21.dat"]);
  });

  it("refuses an inheritance child without its parent, even with noForeignKeys", () => {
    assert.throws(
      () => selectTables(toc, { tables: ["public.child"], noForeignKeys: true }),
      (error) =>
        isLifeboatError(error, "BAD_ARGUMENT") &&
        /public\.events/.test(error.message) &&
        !/no-foreign-keys/.test(error.hint),
    );
    assert.deepEqual(selectTables(toc, { tables: ["child", "events"] }).tables, [
      "public.child",
      "public.events",
    ]);
  });

  it("takes the referenced table alone, without the other table's foreign key", () => {
    const plan = selectTables(toc, { tables: ["billing.customers"] });
    assert.deepEqual(ids(plan), [1, 2, 5, 20, 30, 35]);
    assert.deepEqual(plan.leftOut, []);
  });

  it("takes a partitioned table with its partitions, and refuses a partition alone", () => {
    const parted = [
      ...toc,
      entry(40, "TABLE", "billing", "payments", [2]),
      entry(41, "TABLE", "billing", "payments_2024", [2]),
      entry(42, "TABLE ATTACH", "billing", "payments_2024", [40, 41]),
      entry(43, "TABLE DATA", "billing", "payments_2024", [41], "43.dat"),
    ];
    const plan = selectTables(parted, { tables: ["billing.payments"] });
    assert.deepEqual(plan.tables, ["billing.payments", "billing.payments_2024"]);
    assert.ok(ids(plan).includes(42));
    assert.deepEqual(plan.dataFiles, ["43.dat"]);
    assert.throws(
      () => selectTables(parted, { tables: ["billing.payments_2024"], noForeignKeys: true }),
      (error) =>
        isLifeboatError(error, "BAD_ARGUMENT") &&
        /need table not chosen: billing\.payments \(/.test(error.message),
    );
  });

  it("takes every table of a schema", () => {
    assert.deepEqual(selectTables(toc, { schemas: ["billing"] }).tables, [
      "billing.customers",
      "billing.invoices",
    ]);
  });

  it("names close tables and schemas for unknown ones", () => {
    assert.throws(
      () => selectTables(toc, { tables: ["billing.invoice"] }),
      (error) =>
        isLifeboatError(error, "BAD_ARGUMENT") &&
        /no table billing\.invoice; tables: billing\.customers, billing\.invoices, public\.child, public\.events/.test(
          error.message,
        ),
    );
    assert.throws(
      () => selectTables(toc, { schemas: ["biling"] }),
      (error) =>
        isLifeboatError(error, "BAD_ARGUMENT") && /schema biling.*billing, public/.test(error.message),
    );
    assert.throws(
      () => selectTables(toc, {}),
      (error) => isLifeboatError(error, "BAD_ARGUMENT"),
    );
  });

  it("shows only the closest names when there are many", () => {
    const many = Array.from({ length: 30 }, (_, i) => entry(100 + i, "TABLE", "s", `table_${i}`));
    assert.throws(
      () => selectTables(many, { tables: ["s.table_7x"] }),
      (error) =>
        isLifeboatError(error, "BAD_ARGUMENT") &&
        /closest tables: s\.table_7,/.test(error.message) &&
        !/table_29/.test(error.message),
    );
  });
});
