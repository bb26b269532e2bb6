// Compile src/ into dist/ for the published package (npm's prepack runs this).
// Development runs the sources directly; only an installed package needs
// JavaScript, because Node refuses to strip types under node_modules.
// tsconfig.build.json says what is compiled: no tests, no test doubles.
// Run: node scripts/build.ts

import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

// A fresh dist/: a source file deleted since the last build must not ship.
rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});
if (result.status !== 0) {
  process.stderr.write("build failed: tsc found errors, nothing was written to dist/\n");
  process.exit(result.status ?? 1);
}
