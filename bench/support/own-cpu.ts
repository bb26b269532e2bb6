// Loaded into a benchmarked Lifeboat process with `node --import`: at exit it
// writes the process's own CPU time (every thread, its child processes such
// as pg_dump excluded) to the file LIFEBOAT_BENCH_OWN_CPU names, so the
// report can give Lifeboat's CPU per GiB apart from pg_dump's.

import { writeFileSync } from "node:fs";
import { isMainThread } from "node:worker_threads";

const file = process.env.LIFEBOAT_BENCH_OWN_CPU;
if (isMainThread && file) {
  process.on("exit", () => {
    const { user, system } = process.cpuUsage();
    writeFileSync(file, JSON.stringify({ seconds: (user + system) / 1e6 }));
  });
}
