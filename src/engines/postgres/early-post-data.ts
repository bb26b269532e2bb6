// Which post-data entries may run as soon as one table's data is loaded.
// pg_restore builds every index and constraint in its post-data section,
// after all the data: on two cores that leaves one idle while the last big
// table loads, and then builds that table's primary key alone. An index or a
// primary-key/unique/check constraint that needs only its own table (and
// pre-data objects such as functions or collations) can be built the moment
// that table's rows are in, while other tables still load: pg_restore's own
// parallel mode does the same for the entries it schedules. Everything else
// (foreign keys, triggers, rules, comments and grants on those objects,
// partition index attachments) stays in the final post-data run, where
// pg_restore orders it by its dependencies as always.

import type { TocEntry } from "./toc-file.ts";

/** Entry kinds that touch one table only, and that pg_restore creates from their own definition. */
const tableLocalKinds = new Set(["INDEX", "CONSTRAINT", "CHECK CONSTRAINT"]);

export interface EarlyPostData {
  /** A TABLE DATA entry's dump id → the post-data entries to run once it is loaded, in TOC order. */
  readonly afterTableData: ReadonlyMap<number, readonly number[]>;
}

export function planEarlyPostData(entries: readonly TocEntry[]): EarlyPostData {
  const byId = new Map(entries.map((entry) => [entry.dumpId, entry]));
  // TABLE dump id → its TABLE DATA dump id (a TABLE DATA entry depends on its TABLE).
  const dataOfTable = new Map<number, number>();
  for (const entry of entries) {
    if (entry.desc !== "TABLE DATA") continue;
    const table = entry.dependencies.find((id) => byId.get(id)?.desc === "TABLE");
    if (table !== undefined) dataOfTable.set(table, entry.dumpId);
  }

  const afterTableData = new Map<number, number[]>();
  for (const entry of entries) {
    if (entry.section !== "post-data" || !tableLocalKinds.has(entry.desc)) continue;
    // pg_dump may list the same table twice (an expression index: as the table and as its columns).
    const tables = [...new Set(entry.dependencies.filter((id) => byId.get(id)?.desc === "TABLE"))];
    // An index of a partition depends on its parent's index (post-data): it waits for the final run.
    const othersArePreData = entry.dependencies.every(
      (id) => tables.includes(id) || byId.get(id)?.section === "pre-data",
    );
    const data = tables.length === 1 ? dataOfTable.get(tables[0]!) : undefined;
    if (!othersArePreData || data === undefined) continue;
    const list = afterTableData.get(data) ?? [];
    list.push(entry.dumpId);
    afterTableData.set(data, list);
  }
  return { afterTableData };
}

/**
 * Tracks when a table's data is completely loaded: every load item queued for
 * it has finished and no more will come (a large table arrives in pieces).
 */
export class TableDataProgress {
  readonly #pending = new Map<number, number>();
  readonly #sealed = new Set<number>();

  /** One more load item for each of these tables was queued. */
  queued(ids: readonly number[]): void {
    for (const id of ids) this.#pending.set(id, (this.#pending.get(id) ?? 0) + 1);
  }

  /** No more items will be queued for this table; true when it is already complete. */
  seal(id: number): boolean {
    this.#sealed.add(id);
    return (this.#pending.get(id) ?? 0) === 0;
  }

  /** A load item of these tables finished; returns the tables it completed. */
  loaded(ids: readonly number[]): number[] {
    const complete: number[] = [];
    for (const id of ids) {
      const left = (this.#pending.get(id) ?? 1) - 1;
      this.#pending.set(id, left);
      if (left === 0 && this.#sealed.has(id)) complete.push(id);
    }
    return complete;
  }
}
