// Which TOC entries a partial restore of some tables needs: the tables and
// their data; what they require, through pg_dump's own dependencies (already
// made transitive through objects not in the dump, BuildArchiveDependencies):
// schemas, types, domains, sequences, extensions, collations, functions of
// defaults, checks and triggers; and what is attached to them: indexes,
// constraints, triggers, defaults, sequence ownership and values, comments,
// ACLs, policies, rules, statistics. Views and other tables are never pulled
// in: a requirement on a table not chosen (a foreign key, an inheritance
// parent) is refused by name, or, for foreign keys with noForeignKeys, left out.

import { LifeboatError } from "../../errors.ts";
import type { RestoreSelection } from "../engine.ts";
import { qualifiedTag, type TocEntry } from "./toc-file.ts";

export interface TableSelectionPlan {
  /** The entries to restore, in TOC order. */
  readonly entries: readonly TocEntry[];
  /** Chosen tables, `schema.table`, sorted. */
  readonly tables: readonly string[];
  /** The data file names (`3345.dat`) of the chosen tables. */
  readonly dataFiles: readonly string[];
  /** What came along, in words ("sequence billing.invoices_id_seq"). */
  readonly dependencies: readonly string[];
  /** Foreign keys left out (noForeignKeys), in words. */
  readonly leftOut: readonly string[];
  /** Views and materialized views over the chosen tables, never restored with them, in words. */
  readonly viewsNotRestored: readonly string[];
}

const tableDescs = new Set(["TABLE", "FOREIGN TABLE"]);
const viewDescs = new Set(["VIEW", "MATERIALIZED VIEW"]);
/** Belong to a table (or to something attached to it) and come with it. */
const attachedToTable = new Set([
  "TABLE DATA",
  "TABLE ATTACH", // a partition's ATTACH PARTITION (pg_dump 14+); requires the parent
  "INDEX",
  "INDEX ATTACH",
  "CONSTRAINT",
  "CHECK CONSTRAINT",
  "FK CONSTRAINT",
  "TRIGGER",
  "DEFAULT",
  "POLICY",
  "ROW SECURITY",
  "RULE",
  "STATISTICS",
  "SEQUENCE", // an identity column's sequence depends on its table
]);
/** Belong to any object restored, requirement or not. */
const attachedToAny = new Set(["COMMENT", "ACL", "SECURITY LABEL", "SEQUENCE SET", "SEQUENCE OWNED BY"]);
/** Session settings pg_restore applies whatever the list says; kept so the list reads like the dump's. */
const always = new Set(["ENCODING", "STDSTRINGS", "SEARCHPATH"]);
/** Shown in `dependencies`: objects, not their data or annotations. */
const notObjects = new Set([...attachedToAny, "TABLE DATA", ...always]);

export function selectTables(toc: readonly TocEntry[], selection: RestoreSelection): TableSelectionPlan {
  const byId = new Map(toc.map((entry) => [entry.dumpId, entry]));
  const tables = toc.filter((entry) => tableDescs.has(entry.desc));
  const chosen = chooseTables(
    tables,
    toc.filter((entry) => entry.desc === "TABLE ATTACH"),
    selection,
  );
  const chosenIds = new Set(chosen.map((entry) => entry.dumpId));
  const schemaEntry = new Map(toc.filter((e) => e.desc === "SCHEMA").map((e) => [e.tag, e]));

  const kept = new Set<number>();
  const owned = new Set<number>(chosenIds); // the chosen tables and what is attached to them
  const leftOut = new Map<number, string>();
  /** A table not chosen that something kept requires: what requires it. */
  const missing = new Map<string, string>();

  /** Keep an entry with everything it requires; false (and nothing kept) when that includes a table not chosen. */
  const require = (entry: TocEntry, why: TocEntry): boolean => {
    const closure = requirementClosure(entry, byId, schemaEntry);
    const tablesNeeded = [...closure]
      .map((id) => byId.get(id)!)
      .filter((e) => tableDescs.has(e.desc) && !chosenIds.has(e.dumpId));
    if (tablesNeeded.length > 0) {
      if (entry.desc === "FK CONSTRAINT" && selection.noForeignKeys) {
        leftOut.set(
          entry.dumpId,
          `foreign key ${describeConstraint(entry)} (references ${tablesNeeded.map(qualifiedTag).join(", ")})`,
        );
      } else if (entry.desc === "SEQUENCE OWNED BY" || attachedToAny.has(entry.desc)) {
        // Annotates another table too (a sequence it owns, a comment on both): that table's business.
      } else {
        for (const table of tablesNeeded) {
          if (!missing.has(qualifiedTag(table))) missing.set(qualifiedTag(table), describeNeed(why, entry));
        }
      }
      return false;
    }
    for (const id of closure) kept.add(id);
    return true;
  };

  for (const table of chosen) require(table, table);
  // Attach to a fixpoint: an index's comment, a sequence's value, an identity sequence's ACL, ...
  for (let changed = true; changed;) {
    changed = false;
    for (const entry of toc) {
      if (kept.has(entry.dumpId) || leftOut.has(entry.dumpId) || entry.dependencies.length === 0) continue;
      // A constraint, trigger or index belongs to the table it is on: a foreign key of a table not
      // chosen that references a chosen one is that other table's, and stays out without a word.
      const onTable = attachedToTable.has(entry.desc) ? ownTable(entry, tables, byId) : undefined;
      const attaches =
        (attachedToTable.has(entry.desc) &&
          (onTable ? chosenIds.has(onTable.dumpId) : entry.dependencies.some((id) => owned.has(id)))) ||
        (attachedToAny.has(entry.desc) && entry.dependencies.some((id) => kept.has(id)));
      if (!attaches || !require(entry, entry)) continue;
      if (attachedToTable.has(entry.desc)) owned.add(entry.dumpId);
      changed = true;
    }
  }

  if (missing.size > 0) {
    const names = [...missing.keys()].sort();
    const reasons = [...missing.entries()].map(([name, why]) => `${name} (${why})`);
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `the chosen tables need ${names.length === 1 ? "table" : "tables"} not chosen: ${reasons.join("; ")}`,
      {
        details: { missing: names },
        hint: `Add ${names.map((name) => `--table ${name}`).join(" ")}${
          [...missing.values()].every((why) => why.startsWith("foreign key"))
            ? ", or pass --no-foreign-keys to leave those foreign keys out"
            : ""
        }.`,
      },
    );
  }

  for (const entry of toc) if (always.has(entry.desc)) kept.add(entry.dumpId);
  const entries = toc.filter((entry) => kept.has(entry.dumpId));
  return {
    entries,
    tables: chosen.map(qualifiedTag).sort(),
    dataFiles: entries.filter((e) => e.desc === "TABLE DATA" && e.filename).map((e) => e.filename!),
    dependencies: entries
      .filter((e) => !chosenIds.has(e.dumpId) && !notObjects.has(e.desc))
      .map(describeEntry),
    leftOut: [...leftOut.values()],
    viewsNotRestored: toc
      .filter((e) => viewDescs.has(e.desc) && e.dependencies.some((id) => chosenIds.has(id)))
      .map(describeEntry),
  };
}

/** Entries pg_dump tags "<table> <name>" (constraints, triggers, defaults, policies, rules). */
const taggedWithTable = new Set([
  "CONSTRAINT",
  "CHECK CONSTRAINT",
  "FK CONSTRAINT",
  "TRIGGER",
  "DEFAULT",
  "POLICY",
  "RULE",
]);

/** The table an attached entry is on: from its tag where pg_dump puts the table there, else its one direct table dependency. */
function ownTable(
  entry: TocEntry,
  tables: readonly TocEntry[],
  byId: ReadonlyMap<number, TocEntry>,
): TocEntry | undefined {
  if (entry.desc === "TABLE ATTACH")
    return tables.find((table) => qualifiedTag(table) === qualifiedTag(entry));
  if (taggedWithTable.has(entry.desc)) {
    // The longest table name that prefixes the tag (table names may hold spaces).
    const matches = tables.filter(
      (table) => table.namespace === entry.namespace && entry.tag.startsWith(`${table.tag} `),
    );
    const best = matches.sort((a, b) => b.tag.length - a.tag.length)[0];
    if (best) return best;
  }
  const direct = entry.dependencies
    .map((id) => byId.get(id))
    .filter((dep) => dep !== undefined && tableDescs.has(dep.desc));
  return direct.length === 1 ? direct[0] : undefined;
}

/** The tables named (`schema.table`; a bare name means `public.name`) and every table of the schemas named. */
function chooseTables(
  tables: readonly TocEntry[],
  attaches: readonly TocEntry[],
  selection: RestoreSelection,
): TocEntry[] {
  const byName = new Map(tables.map((entry) => [qualifiedTag(entry), entry]));
  const chosen = new Map<number, TocEntry>();
  for (const asked of selection.tables ?? []) {
    const name = asked.includes(".") ? asked : `public.${asked}`;
    const entry = byName.get(name);
    if (!entry) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `the snapshot has no table ${asked}; ${closeNames(name, [...byName.keys()], "tables")}`,
        {
          details: { table: asked },
          hint: "Name tables as schema.table; `lifeboat ls SNAPSHOT` lists them.",
        },
      );
    }
    chosen.set(entry.dumpId, entry);
  }
  const schemas = new Set(tables.map((entry) => entry.namespace ?? ""));
  for (const schema of selection.schemas ?? []) {
    if (!schemas.has(schema)) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `the snapshot has no tables in schema ${schema}; ${closeNames(schema, [...schemas], "schemas with tables")}`,
        {
          details: { schema },
          hint: "`lifeboat ls SNAPSHOT` lists the schemas and tables.",
        },
      );
    }
    for (const entry of tables) if (entry.namespace === schema) chosen.set(entry.dumpId, entry);
  }
  if (chosen.size === 0)
    throw new LifeboatError("BAD_ARGUMENT", "a table restore needs at least one --table or --schema");
  // A partitioned table holds its rows in its partitions: choosing it chooses them (and theirs).
  for (let grew = true; grew;) {
    grew = false;
    for (const partition of partitionsOf(tables, attaches, chosen, byName)) {
      if (chosen.has(partition.dumpId)) continue;
      chosen.set(partition.dumpId, partition);
      grew = true;
    }
  }
  return [...chosen.values()];
}

/** The partitions of chosen tables: from TABLE ATTACH entries (pg_dump 14+) or a partition's own definition (before). */
function partitionsOf(
  tables: readonly TocEntry[],
  attaches: readonly TocEntry[],
  chosen: ReadonlyMap<number, TocEntry>,
  byName: ReadonlyMap<string, TocEntry>,
): TocEntry[] {
  const found: TocEntry[] = [];
  for (const attach of attaches) {
    const partition = byName.get(qualifiedTag(attach));
    if (partition && attach.dependencies.some((id) => id !== partition.dumpId && chosen.has(id)))
      found.push(partition);
  }
  for (const table of tables) {
    if (isPartition(table) && table.dependencies.some((id) => chosen.has(id))) found.push(table);
  }
  return found;
}

/** pg_dump creates a partition and attaches it to its parent in the partition's own TABLE entry. */
function isPartition(entry: TocEntry): boolean {
  return /\bATTACH PARTITION\b/.test(entry.defn ?? "");
}

/** Everything an entry requires, itself included; a schema counts as required by what lives in it. */
function requirementClosure(
  entry: TocEntry,
  byId: ReadonlyMap<number, TocEntry>,
  schemaEntry: ReadonlyMap<string, TocEntry>,
): Set<number> {
  const closure = new Set<number>();
  const pending = [entry];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (closure.has(next.dumpId)) continue;
    closure.add(next.dumpId);
    for (const id of next.dependencies) {
      const dependency = byId.get(id);
      if (dependency) pending.push(dependency);
    }
    const schema = next.namespace ? schemaEntry.get(next.namespace) : undefined;
    if (schema) pending.push(schema);
  }
  return closure;
}

/** A few known names closest to the one asked for, or all of them when there are few. */
export function closeNames(asked: string, known: readonly string[], what: string): string {
  if (known.length === 0) return `it has no ${what}`;
  const ranked = [...known].sort((a, b) => distance(asked, a) - distance(asked, b) || a.localeCompare(b));
  const shown = known.length <= 8 ? [...known].sort() : ranked.slice(0, 5);
  return `${known.length <= 8 ? what : `closest ${what}`}: ${shown.join(", ")}`;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** "sequence billing.invoices_id_seq", "function billing.f(integer)", "extension citext". */
export function describeEntry(entry: TocEntry): string {
  if (
    entry.desc === "CONSTRAINT" ||
    entry.desc === "FK CONSTRAINT" ||
    entry.desc === "TRIGGER" ||
    entry.desc === "DEFAULT"
  ) {
    return `${entry.desc.toLowerCase()} ${describeConstraint(entry)}`;
  }
  return `${entry.desc.toLowerCase()} ${qualifiedTag(entry)}`;
}

/** pg_dump tags constraints and triggers "table name": shown as "name on schema.table". */
function describeConstraint(entry: TocEntry): string {
  const [table, ...rest] = entry.tag.split(" ");
  if (rest.length === 0) return qualifiedTag(entry);
  const on = entry.namespace ? `${entry.namespace}.${table}` : table;
  return `${rest.join(" ")} on ${on}`;
}

function describeNeed(chosen: TocEntry, entry: TocEntry): string {
  if (entry.desc === "FK CONSTRAINT") return `foreign key ${describeConstraint(entry)}`;
  if (entry === chosen && tableDescs.has(entry.desc))
    return `required by table ${qualifiedTag(entry)}, e.g. as its inheritance parent`;
  return `required by ${describeEntry(entry)}`;
}
