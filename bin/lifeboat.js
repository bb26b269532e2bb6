#!/usr/bin/env node
// The `lifeboat` command. Lifeboat needs Node.js >= 24; an older Node would fail
// somewhere less clear, so say why instead.
import { existsSync } from "node:fs";
import { enableCompileCache } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";

const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  process.stderr.write(
    `lifeboat needs Node.js >= 24 (this is ${process.version}).\n` +
      "Without replacing the system's node: npm install --prefix .tools node@24 && export PATH=$PWD/.tools/node_modules/.bin:$PATH\n",
  );
  process.exit(2);
}

// Node keeps the code it compiled for our modules in the user's own cache
// directory (defaultCacheDir of runtime/spool-memo.ts, spelled out again here
// because nothing may load before the cache is on; never a shared temp dir,
// where another user could plant entries), so later commands skip compiling
// them: about 30 ms of a command that opens a repository (BENCHMARKS.md,
// "Startup"). NODE_DISABLE_COMPILE_CACHE=1 turns it off; a cache that cannot
// be written only costs that time.
const cacheRoot =
  process.env.LIFEBOAT_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "lifeboat");
try {
  enableCompileCache(join(cacheRoot, "node-compile-cache"));
} catch {
  // An unwritable home directory: run without the cache.
}

// Which code runs: a development checkout has src/ and runs the TypeScript
// sources directly (type stripping), so it always runs the current code even
// when an old `npm run build` left a stale dist/ behind. The published package
// ships no src/ (see "files" in package.json) and runs the JavaScript built into
// dist/ by `npm pack`'s prepack: Node refuses to strip types under node_modules.
const sources = new URL("../src/cli/main.ts", import.meta.url);
await import(existsSync(sources) ? sources.href : new URL("../dist/cli/main.js", import.meta.url).href);
