// `lifeboat --help` / `--version` start light (the command modules are loaded
// only by the command that runs) and every subcommand's --help lists the
// global options. Run from the sources, as in development; test/package.test.ts
// checks the same of the installed package.

import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import packageJson from "../package.json" with { type: "json" };
import { runCli, workspace } from "./support/cli.ts";
import { freePort } from "./support/pg-cluster.ts";
import { heavyModules, heavyModulesLoaded, traceCommand } from "./support/module-trace.ts";

const bin = fileURLToPath(new URL("../bin/lifeboat.js", import.meta.url));
const globalOptions = ["-c, --config <path>", "--json", "-q, --quiet", "-v, --verbose", "--no-progress"];

test("subcommand --help lists the global options", async () => {
  for (const command of [["restore"], ["backup"], ["drill"], ["key", "add"]]) {
    const result = await runCli([...command, "--help"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^Usage: lifeboat ${command.join(" ")} `, "m"));
    assert.match(result.stdout, /^Global Options:$/m, `${command.join(" ")} --help:\n${result.stdout}`);
    for (const option of globalOptions)
      assert.ok(result.stdout.includes(option), `${command} --help: ${option}`);
  }
  const restore = await runCli(["restore", "--help"]);
  assert.ok(restore.stdout.includes("--to <target>"), "its own options stay listed");
});

test("--version and --help load no command module, no heavy package", async () => {
  for (const args of [["--version"], ["--help"], ["restore", "--help"]]) {
    const trace = await traceCommand(bin, args);
    assert.equal(trace.code, 0, trace.stderr);
    assert.ok(
      trace.modules.some((url) => url.includes("/node_modules/commander/")),
      "the trace sees packages (commander parses the arguments)",
    );
    assert.ok(
      trace.modules.some((url) => url.endsWith("/src/cli/main.ts")),
      "a checkout runs its sources",
    );
    assert.deepEqual(
      heavyModulesLoaded(trace),
      [],
      `lifeboat ${args.join(" ")} loaded:\n${trace.modules.join("\n")}`,
    );
  }
  const version = await traceCommand(bin, ["--version"]);
  assert.equal(version.stdout, `${packageJson.version}\n`);
});

test("the trace does see what a command loads on demand", async () => {
  // The control for the test above: the same trace of a command that runs (and
  // then fails on the missing config) lists its command module, the session and
  // the packages behind them, so an empty list there means "not loaded".
  const trace = await traceCommand(bin, ["drill", "-c", "/nonexistent/lifeboat.yaml"]);
  assert.match(trace.stderr, /CONFIG_NOT_FOUND/);
  const loaded = heavyModulesLoaded(trace);
  for (const name of ["lifeboat cli/commands/", "lifeboat cli/session", "lifeboat config/"]) {
    assert.ok(loaded.includes(name), `${name} in ${loaded.join(", ")}`);
  }
  const packages = heavyModules.filter(({ name }) => !name.startsWith("lifeboat ")).map(({ name }) => name);
  assert.ok(
    loaded.some((name) => packages.includes(name)),
    `some of ${packages.join(", ")} in ${loaded.join(", ")}`,
  );
});

test("a command loads an engine's client library only when it talks to that engine", async () => {
  // Issue 15's fixed cost: every command loads every engine's definition, never every client library.
  const clients = /\/node_modules\/(pg|mariadb|@redis\/client|@nats-io\/[^/]+)\//;
  const loadedClients = (modules: readonly string[]) =>
    [...new Set(modules.map((url) => url.match(clients)?.[1]).filter((name) => name !== undefined))].sort();
  const closedPort = await freePort();
  const ws = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  uploads: { engine: files, path: "${dir}" }
  cache: { engine: redis, url: "redis://127.0.0.1:${closedPort}" }
`,
  );
  try {
    const env = { ...process.env, ...ws.env };
    assert.equal((await ws.cli(["init"])).code, 0);
    const status = await traceCommand(bin, ["-c", ws.configFile, "status", "uploads", "--json"], env);
    assert.ok(status.stdout.includes('"verdict"'), status.stderr);
    assert.deepEqual(loadedClients(status.modules), []);
    // The control: a backup of the Redis source connects (and fails: nothing listens), so it loads the Redis client.
    const backup = await traceCommand(bin, ["-c", ws.configFile, "backup", "cache"], env);
    assert.match(backup.stderr, /SOURCE_UNREACHABLE/);
    assert.deepEqual(loadedClients(backup.modules), ["@redis/client"]);
  } finally {
    await ws.cleanup();
  }
});
