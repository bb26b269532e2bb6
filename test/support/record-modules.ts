// Preloaded with `node --import` (see module-trace.ts): records the URL of every
// module the process resolves, ESM and CommonJS alike, and writes them one a
// line to the file named by $LIFEBOAT_MODULE_TRACE when the process exits.
// Worker threads run this preload too; only the main thread's list is written.

import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";
import { isMainThread } from "node:worker_threads";

const traceFile = process.env.LIFEBOAT_MODULE_TRACE;
if (!traceFile) throw new Error("record-modules.ts needs $LIFEBOAT_MODULE_TRACE");
const resolved = new Set<string>();

registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    resolved.add(result.url);
    return result;
  },
});

if (isMainThread) process.on("exit", () => writeFileSync(traceFile, [...resolved].join("\n") + "\n"));
