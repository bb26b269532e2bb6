#!/usr/bin/env node
// Installed entry point. Node >= 24 runs the TypeScript sources directly (type
// stripping); an older Node would fail with a syntax error, so say why instead.
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  process.stderr.write(
    `lifeboat needs Node.js >= 24 (this is ${process.version}).\n` +
      "Without replacing the system's node: npm install --prefix .tools node@24 && export PATH=$PWD/.tools/node_modules/.bin:$PATH\n",
  );
  process.exit(2);
}
await import("../src/cli/main.ts");
