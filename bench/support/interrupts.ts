// Ctrl-C / kill of a benchmark: end the measured commands' process groups,
// stop the clusters it started and remove its work folder (unless --keep),
// then exit 130. One definition for every bench script.

import { rm } from "node:fs/promises";
import { runningChildren } from "./measure.ts";
import { stopClusterNow, type BenchCluster } from "./pg-cluster.ts";

export interface BenchState {
  readonly clusters: readonly BenchCluster[];
  /** The work folder, once made ("" before). */
  readonly workDir: () => string;
  readonly keep: boolean;
  readonly log: (message: string) => void;
}

export function stopOnSignals(state: BenchState): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      state.log(`${signal}: stopping`);
      for (const pid of runningChildren) {
        try {
          process.kill(-pid, "SIGTERM");
        } catch {
          // already gone
        }
      }
      for (const cluster of state.clusters) stopClusterNow(cluster.dataDir);
      const workDir = state.workDir();
      if (workDir && !state.keep)
        void rm(workDir, { recursive: true, force: true }).finally(() => process.exit(130));
      else process.exit(130);
    });
  }
}
