#!/usr/bin/env node
// The `lifeboat` command. Lifeboat needs Node.js >= 24; an older Node would fail
// somewhere less clear, so say why instead.
import { existsSync } from "node:fs";

const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  process.stderr.write(
    `lifeboat needs Node.js >= 24 (this is ${process.version}).\n` +
      "Without replacing the system's node: npm install --prefix .tools node@24 && export PATH=$PWD/.tools/node_modules/.bin:$PATH\n",
  );
  process.exit(2);
}

// Which code runs: a development checkout has src/ and runs the TypeScript
// sources directly (type stripping), so it always runs the current code even
// when an old `npm run build` left a stale dist/ behind. The published package
// ships no src/ (see "files" in package.json) and runs the JavaScript built into
// dist/ by `npm pack`'s prepack: Node refuses to strip types under node_modules.
const sources = new URL("../src/cli/main.ts", import.meta.url);
await import(existsSync(sources) ? sources.href : new URL("../dist/cli/main.js", import.meta.url).href);
