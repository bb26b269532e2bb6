// Load a dump into the partial database while its data files are still
// being fetched, with pg_restore's own sections: `--section=pre-data` as soon
// as toc.dat is staged, then `--section=data --use-list=<ids>` for each table
// data file (or piece of one, see table-pieces.ts) as soon as it is staged,
// `jobs` of them at a time, and `--section=post-data --jobs=N` (indexes,
// constraints, ACLs) once every data file verified and loaded. This is the
// split pg_restore documents for --section; it overlaps the repository's
// decryption and verification with the server's COPY work. A table's own
// indexes and key constraints are built as soon as its data is in
// (early-post-data.ts), on the lane that loaded its last rows, while the
// other lanes go on loading; the final post-data run does the rest.
//
// Why not one pg_restore reading FIFOs: pg_restore (15.20 at least) refuses
// a data file that is not a regular file ("is not a regular file").

import { readFile, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ArtifactRef } from "../../domain/snapshot.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { ArtifactSource } from "../engine.ts";
import { planEarlyPostData, TableDataProgress, type EarlyPostData } from "./early-post-data.ts";
import { dumpFileName, forEachConcurrently, stageFile, type StagedToc } from "./staging.ts";
import { writePieces } from "./table-pieces.ts";
import { parseToc } from "./toc-file.ts";

export interface LoadTuning {
  /** Table data files larger than this are cut into pieces. */
  readonly splitAboveBytes: number;
  readonly pieceBytes: number;
  /** Small table data files are loaded together, up to this many bytes or files per pg_restore. */
  readonly batchBytes: number;
  readonly batchFiles: number;
  /** Artifacts fetched at once (largest first). */
  readonly fetchConcurrency: number;
  /** Build a table's own indexes and key constraints as soon as its data is loaded (early-post-data.ts). */
  readonly earlyPostData: boolean;
}

export const defaultLoadTuning: LoadTuning = {
  splitAboveBytes: 48 * 1024 * 1024,
  pieceBytes: 32 * 1024 * 1024,
  batchBytes: 32 * 1024 * 1024,
  batchFiles: 256,
  fetchConcurrency: 2,
  earlyPostData: true,
};

export interface LoadRequest {
  readonly artifacts: ArtifactSource;
  readonly staged: StagedToc;
  readonly jobs: number;
  readonly tuning: LoadTuning;
  readonly log: Logger;
  /** The interruption signal of the whole restore. */
  readonly signal?: AbortSignal;
  /** Every dump id in the TOC (`pg_restore --list`). */
  readonly listIds: () => Promise<number[]>;
  /** Runs once the pre-data section created the tables, before any COPY (unlogged-load.ts). */
  readonly afterPreData?: () => Promise<unknown>;
  /** Run pg_restore with these extra arguments on `dir`; throws on failure (the signal's reason when it was aborted). */
  readonly pgRestore: (args: readonly string[], dir: string, signal: AbortSignal) => Promise<void>;
}

/** One pg_restore run: the ids it restores from `dir`, and what to delete afterwards. */
interface DataItem {
  /** "data" loads table rows; "post-data" builds indexes of tables already loaded. */
  readonly section: "data" | "post-data";
  readonly dir: string;
  readonly ids: readonly number[];
  readonly cleanup: () => Promise<void>;
  /** Called once the item is loaded (or the load failed). */
  readonly onDone?: () => void;
}

/** `<dumpId>.dat`: a TABLE DATA entry's file (large objects live in blob_*.dat and blobs*.toc). */
function tableDataId(fileName: string): number | undefined {
  const match = /^(\d+)\.dat$/.exec(fileName);
  return match ? Number(match[1]) : undefined;
}

export async function loadInPhases(request: LoadRequest): Promise<void> {
  const { staged } = request;
  const stop = new AbortController();
  const signal = request.signal ? AbortSignal.any([request.signal, stop.signal]) : stop.signal;
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    if (failure) return;
    failure = { error };
    stop.abort(error); // kills the pg_restore runs, stops the fetching
  };

  const allIds = await request.listIds();
  const tableIds = new Set(
    staged.dataFiles.map((file) => tableDataId(dumpFileName(file))).filter((id) => id !== undefined),
  );
  const plan: EarlyPostData = request.tuning.earlyPostData
    ? planEarlyPostData(parseToc(await readFile(join(staged.dumpDir, "toc.dat"))).entries)
    : { afterTableData: new Map() };
  const progress = new TableDataProgress();
  /** The early post-data run for tables whose data just completed, if they have any. */
  const buildsFor = (tables: readonly number[]): DataItem | undefined => {
    const ids = tables.flatMap((table) => plan.afterTableData.get(table) ?? []);
    if (ids.length === 0) return undefined;
    return { section: "post-data", dir: staged.dumpDir, ids, cleanup: async () => {} };
  };
  /** Post-data entries already built; whatever the plan missed, the final run still builds. */
  const built = new Set<number>();
  const queue = new WorkQueue<DataItem>();
  const discard = () => {
    for (const item of queue.close({ discard: true })) item.onDone?.();
  };
  signal.addEventListener("abort", discard, { once: true });
  let lists = 0;
  const run = async (item: DataItem): Promise<void> => {
    const list = join(staged.stagingDir, `list-${++lists}.txt`);
    await writeFile(list, item.ids.map((id) => `${id}\n`).join(""));
    try {
      await request.pgRestore([`--section=${item.section}`, `--use-list=${list}`], item.dir, signal);
      if (item.section === "post-data") for (const id of item.ids) built.add(id);
      await item.cleanup();
      await unlink(list);
    } finally {
      item.onDone?.();
    }
    // This lane builds what the item completed before it takes more rows: the build is the
    // longest step left for that table, and the other lanes keep loading meanwhile.
    const builds = item.section === "data" ? buildsFor(progress.loaded(item.ids)) : undefined;
    if (builds) await run(builds);
  };

  const preData = request
    .pgRestore(["--section=pre-data"], staged.dumpDir, signal)
    .then(() => request.afterPreData?.());
  const lanes = Array.from({ length: Math.max(1, request.jobs) }, async () => {
    await preData; // the tables must exist before any COPY
    for (let item = await queue.take(); item; item = await queue.take()) await run(item);
  });
  const fetching = (async () => {
    await fetchData(request, queue, progress, buildsFor, signal);
    // Sequence values and large objects: everything of the data section but the table data.
    const rest = allIds.filter((id) => !tableIds.has(id));
    if (rest.length > 0) {
      queue.push({ section: "data", dir: staged.dumpDir, ids: rest, cleanup: async () => {} });
    }
    queue.close();
  })();
  // Every step settles (a failure stops the others through the signal) before the first failure is thrown.
  await Promise.all([preData, ...lanes, fetching].map((step) => step.catch(fail)));
  if (failure) throw failure.error;

  const postData = [`--section=post-data`, `--jobs=${request.jobs}`];
  if (built.size > 0) {
    const list = join(staged.stagingDir, "list-post-data.txt");
    await writeFile(
      list,
      allIds
        .filter((id) => !built.has(id))
        .map((id) => `${id}\n`)
        .join(""),
    );
    postData.push(`--use-list=${list}`);
  }
  await request.pgRestore(postData, staged.dumpDir, signal);
}

/** Fetch every data file, largest first, and queue what is ready to load. */
async function fetchData(
  request: LoadRequest,
  queue: WorkQueue<DataItem>,
  progress: TableDataProgress,
  buildsFor: (tables: readonly number[]) => DataItem | undefined,
  signal: AbortSignal,
): Promise<void> {
  const { artifacts, staged, tuning } = request;
  const dumpDir = staged.dumpDir;
  let batch: { ids: number[]; paths: string[]; bytes: number } = { ids: [], paths: [], bytes: 0 };
  const flush = () => {
    if (batch.ids.length === 0) return;
    const { ids, paths } = batch;
    progress.queued(ids);
    for (const id of ids) progress.seal(id); // a small table's file is loaded whole, by this one item
    queue.push({ section: "data", dir: dumpDir, ids, cleanup: () => removeAll(paths) });
    batch = { ids: [], paths: [], bytes: 0 };
  };
  let pieces = 0;
  const chains: Promise<void>[] = [];
  const bySize = [...staged.dataFiles].sort((left, right) => right.size - left.size);
  await forEachConcurrently(bySize, tuning.fetchConcurrency, async (artifact: ArtifactRef) => {
    signal.throwIfAborted();
    const fileName = dumpFileName(artifact);
    const id = tableDataId(fileName);
    if (id !== undefined && artifact.size > tuning.splitAboveBytes) {
      // A table's pieces load one after another, in file order: the rows keep the order of the
      // dump (and of the source's heap), as with a single COPY. Other tables load meanwhile.
      let previous = Promise.resolve();
      await writePieces({
        source: artifacts.open(artifact.name),
        totalBytes: artifact.size,
        fileName,
        tocPath: join(dumpDir, "toc.dat"),
        stagingDir: staged.stagingDir,
        pieceBytes: tuning.pieceBytes,
        signal,
        onPiece: (dir) => {
          pieces++;
          progress.queued([id]); // counted now: the piece joins the queue once the one before it loaded
          const cleanup = () => rm(dir, { recursive: true, force: true });
          previous = previous.then(
            () =>
              new Promise<void>((onDone) => {
                if (!queue.push({ section: "data", dir, ids: [id], cleanup, onDone })) onDone(); // stopped
              }),
          );
        },
      });
      // Every piece is written; if the last one already loaded, nobody else will start the builds.
      if (progress.seal(id)) {
        const builds = buildsFor([id]);
        if (builds) queue.push(builds);
      }
      chains.push(previous);
      return;
    }
    const path = join(dumpDir, fileName);
    await stageFile(artifacts, artifact.name, path);
    if (id === undefined) return; // large objects: loaded with the rest
    batch.ids.push(id);
    batch.paths.push(path);
    batch.bytes += artifact.size;
    if (batch.bytes >= tuning.batchBytes || batch.ids.length >= tuning.batchFiles) flush();
  });
  flush();
  await Promise.all(chains); // the last pieces are queued only once the previous ones loaded
  request.log.debug(`data files fetched and verified; ${pieces} pieces of large tables`);
}

async function removeAll(paths: readonly string[]): Promise<void> {
  await Promise.all(paths.map((path) => rm(path, { force: true })));
}

/** A queue that lanes wait on; take() gives undefined once it is closed and empty. */
class WorkQueue<T> {
  readonly #items: T[] = [];
  readonly #waiting: ((item: T | undefined) => void)[] = [];
  #closed = false;

  /** False when the queue is closed and the item was not taken. */
  push(item: T): boolean {
    if (this.#closed) return false;
    const waiter = this.#waiting.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
    return true;
  }

  take(): Promise<T | undefined> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift());
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Returns the items discarded (with `discard`, the ones not taken yet). */
  close(options: { discard?: boolean } = {}): T[] {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter(undefined);
    return options.discard ? this.#items.splice(0) : [];
  }
}
