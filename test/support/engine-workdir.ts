// A temporary folder and an EngineContext for engine tests: made before the
// file's tests, removed after them. Call at the top level of a test file.

import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import type { EngineContext } from "../../src/engines/engine.ts";
import { silentLogger } from "../../src/runtime/logger.ts";
import { processRunner } from "../../src/runtime/process.ts";

export interface EngineWorkdir {
  /** The folder; sources and targets go in it. */
  readonly base: string;
  /** Runner, silent logger and `<base>/spool` as temp dir. */
  readonly context: EngineContext;
}

export function engineWorkdir(prefix: string): EngineWorkdir {
  let base = "";
  let context: EngineContext | undefined;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), `lifeboat-${prefix}-`));
    await mkdir(join(base, "spool"));
    context = { runner: processRunner, log: silentLogger, tempDir: join(base, "spool") };
  });
  after(() => rm(base, { recursive: true, force: true }));
  return {
    get base() {
      return base;
    },
    get context() {
      if (!context) throw new Error("engineWorkdir: used before its before() hook ran");
      return context;
    },
  };
}
