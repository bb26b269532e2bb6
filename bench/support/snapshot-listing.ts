// `lifeboat snapshots --json` over a filesystem repository of many (100,000)
// snapshots, with a warm local cache: the CLI as a user runs it (its first
// run fills LIFEBOAT_CACHE_DIR, the second is timed), and the same in this
// process through openRepository(backend, password, { cacheDir }) and
// listSnapshots(), a second open + list timed after a first warm one. The
// snapshots are generated through the repository API (snapshot-factory.ts),
// all with the same bytes, so each adds only its manifest.

import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { openRepository } from "../../src/repository/repository.ts";
import { openBackend } from "../../src/storage/registry.ts";
import { measure, type MeasureOptions } from "./measure.ts";
import { parseJson } from "./s3-scaling.ts";
import { addSnapshots } from "./snapshot-factory.ts";

const password = "bench-only-password-not-a-secret";

export interface ListResult {
  readonly snapshots: number;
  readonly generateSeconds: number;
  /** `lifeboat snapshots --json` with LIFEBOAT_CACHE_DIR set: first run, then the warm one. */
  readonly cliFirst: { seconds: number; ok: boolean };
  /** The same command on the repository before any snapshot existed: its fixed cost. */
  readonly cliEmpty: { seconds: number; ok: boolean };
  readonly cli: { seconds: number; ok: boolean; listed?: number };
  readonly cliCacheHonoured: boolean;
  /** In this process: openRepository(backend, password, { cacheDir }) then listSnapshots(), the second time. */
  readonly api: { openSeconds: number; listSeconds: number; listed: number };
  readonly apiFirst: { openSeconds: number; listSeconds: number };
}

async function openAndList(dir: string, cacheDir: string) {
  const started = performance.now();
  const repository = await openRepository(openBackend(`file://${dir}`), password, { cacheDir });
  const opened = performance.now();
  const listed = (await repository.listSnapshots()).length;
  const done = performance.now();
  await repository.close();
  return { openSeconds: (opened - started) / 1000, listSeconds: (done - opened) / 1000, listed };
}

/** A filesystem repository of `count` snapshots (same tiny bytes each), listed by the CLI and in-process. */
export async function measureListing(
  cli: string,
  count: number,
  options: MeasureOptions,
  log: (message: string) => void,
): Promise<ListResult> {
  const dir = join(options.workDir, "many-repo");
  const config = join(options.workDir, "many.yaml");
  await writeFile(
    config,
    `repository: { url: "file://${dir}", password_env: LIFEBOAT_PASSWORD }\nsources: {}\n`,
  );
  const cliCache = join(options.workDir, "many-cli-cache");
  const run = { ...options, env: { LIFEBOAT_PASSWORD: password, LIFEBOAT_CACHE_DIR: cliCache } };
  const lifeboat = (args: string) => `${process.execPath} ${cli} -c ${config} --no-progress ${args}`;
  const init = await measure("many init", lifeboat("init"), run);
  if (!init.ok) throw new Error(`lifeboat init failed: ${init.stderrTail}`);
  const out = join(options.workDir, "snapshots.json");
  // The fixed cost of the command (start-up, key derivation, lock-free open) with nothing to list.
  const cliEmpty = await measure("snapshots --json (empty)", lifeboat(`snapshots --json > ${out}`), run);
  const factory = await openRepository(openBackend(`file://${dir}`), password);
  log(`listing: generating ${count} snapshots`);
  const generateSeconds = await addSnapshots(factory, {
    source: "many",
    count,
    distinct: false,
    concurrency: 32,
    firstAt: new Date(Date.UTC(2015, 0, 1)),
    onProgress: (done) => done % 10_000 === 0 && log(`listing: ${done} snapshots`),
  });
  await factory.close();
  const cliFirst = await measure("snapshots --json (first)", lifeboat(`snapshots --json > ${out}`), run);
  const cliWarm = await measure("snapshots --json (warm)", lifeboat(`snapshots --json > ${out}`), run);
  const listing = parseJson(await readFile(out, "utf8").catch(() => ""));
  const apiCache = join(options.workDir, "many-api-cache");
  const apiFirst = await openAndList(dir, apiCache);
  const api = await openAndList(dir, apiCache);
  const cached = await readdir(cliCache).catch(() => []);
  return {
    snapshots: count,
    generateSeconds,
    cliEmpty: { seconds: cliEmpty.seconds, ok: cliEmpty.ok },
    cliFirst: { seconds: cliFirst.seconds, ok: cliFirst.ok },
    cli: {
      seconds: cliWarm.seconds,
      ok: cliWarm.ok,
      listed: (listing?.["snapshots"] as unknown[] | undefined)?.length,
    },
    cliCacheHonoured: cached.length > 0,
    api,
    apiFirst,
  };
}
