// The package runs where users install it: `npm pack` (its prepack builds
// dist/), `npm install` of the tarball into an empty prefix, then the installed
// `lifeboat` command, as `npm install -g lifeboat` users run it. Node refuses to
// strip types under node_modules, so this fails if the package ships TypeScript
// that the command needs. Needs npm on PATH (it fails, with that message, without).

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import packageJson from "../package.json" with { type: "json" };
import { heavyModulesLoaded, traceCommand } from "./support/module-trace.ts";
import { packageEnv, packAndInstall, run, type InstalledPackage } from "./support/package-install.ts";

let workDir: string;
let installed: InstalledPackage;

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), "lifeboat-package-test-"));
  installed = await packAndInstall(workDir);
});

after(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

test("the tarball ships the built command and no test code", () => {
  const { files } = installed;
  for (const path of ["package.json", "README.md", "bin/lifeboat.js", "dist/cli/main.js"]) {
    assert.ok(files.includes(path), `${path} is in the tarball`);
  }
  assert.ok(files.includes("dist/repository/codec-worker.js"), "the codec worker is built too");
  assert.ok(files.includes("docs/errors.md"), "the docs the hints point to ship");
  const unwanted = files.filter(
    (path) =>
      /\.test\./.test(path) ||
      /^(test|src|bench|scripts)\//.test(path) ||
      /\.ts$/.test(path) ||
      /(^|\/)(conformance|faulty|testing)\.js$/.test(path),
  );
  assert.deepEqual(unwanted, [], "no tests, test doubles, sources or dev scripts in the package");
  // bin/lifeboat.js runs src/ when it exists: the installed package must have none.
  assert.equal(existsSync(join(installed.packageDir, "src")), false);
});

test("the installed lifeboat --version prints package.json's version", async () => {
  const result = await run(installed.bin, ["--version"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `${packageJson.version}\n`);
  assert.equal(result.stderr, "");
});

test("the installed lifeboat --help lists the commands, and restore --help the global options", async () => {
  const help = await run(installed.bin, ["--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: lifeboat /m);
  for (const command of ["init", "backup", "restore", "check", "drill", "demo"]) {
    assert.match(help.stdout, new RegExp(`^  ${command}\\b`, "m"), `--help lists ${command}`);
  }
  const restore = await run(installed.bin, ["restore", "--help"]);
  assert.equal(restore.code, 0, restore.stderr);
  assert.match(restore.stdout, /^Global Options:$/m);
  assert.ok(restore.stdout.includes("-c, --config <path>"), restore.stdout);
  assert.ok(restore.stdout.includes("--json"), restore.stdout);
});

test("the installed --version and --help run the built JavaScript and load no heavy module", async () => {
  for (const args of [["--version"], ["--help"]]) {
    const trace = await traceCommand(installed.bin, args, packageEnv());
    assert.equal(trace.code, 0, trace.stderr);
    assert.ok(
      trace.modules.some((url) => url.endsWith("/node_modules/lifeboat/dist/cli/main.js")),
      `runs dist/cli/main.js:\n${trace.modules.join("\n")}`,
    );
    assert.deepEqual(
      heavyModulesLoaded(trace),
      [],
      `lifeboat ${args.join(" ")} loaded:\n${trace.modules.join("\n")}`,
    );
  }
});

test("lifeboat demo runs from the installed package and its drills pass", async () => {
  const result = await run(installed.bin, ["demo", "--json", "--dir", join(workDir, "demo")], {
    cwd: workDir,
    env: packageEnv(),
  });
  assert.equal(result.code, 0, result.stderr);
  const demo = JSON.parse(result.stdout) as {
    passed: boolean;
    sources: { source: string; drill: { status: string; lifeboatVersion: string } }[];
  };
  assert.equal(demo.passed, true);
  assert.deepEqual(demo.sources.map((source) => source.source).sort(), ["app-sqlite", "uploads"]);
  for (const { source, drill } of demo.sources) {
    assert.equal(drill.status, "passed", `${source}: ${JSON.stringify(drill)}`);
    assert.equal(drill.lifeboatVersion, packageJson.version);
  }
});
