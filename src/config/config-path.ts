// Which lifeboat.yaml a command reads. Its own module, importing no parser:
// wal-push's fast path asks it once per WAL segment and must stay light.

import { resolve } from "node:path";

/** -c/--config wins, then LIFEBOAT_CONFIG, then ./lifeboat.yaml. */
export function configPath(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(explicit ?? env.LIFEBOAT_CONFIG ?? "lifeboat.yaml");
}
