// Inputs that used to pin a core or hang for ever now fail fast with a named
// error (fault 17: a command must stay stoppable; synchronous work cannot be
// interrupted, so it is bounded instead).

import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli, workspace } from "./support/cli.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;

describe("bounded inputs", () => {
  let ws: Workspace;
  before(async () => {
    ws = await workspace(
      () => `repository: { url: "file:///proc/lifeboat-nope/repo", password_env: LIFEBOAT_PASSWORD }\n`,
    );
  });
  after(() => ws.cleanup());

  test("init on an unusable path fails at once with STORAGE_ERROR instead of spinning", async () => {
    const result = await ws.cli(["init", "--json"]);
    assert.equal(result.json.error.code, "STORAGE_ERROR", result.stderr);
    assert.match(result.json.error.message, /\/proc\/lifeboat-nope/);
  });

  test("a 10 MB config is refused before it is parsed", async () => {
    const big = join(ws.dir, "big.yaml");
    await writeFile(
      big,
      "repository: { url: file:///r, password_env: P }\n# " + "x".repeat(10 * 1024 * 1024) + "\n",
    );
    const result = await runCli(["-c", big, "snapshots", "--json"]);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.json.error.code, "BAD_CONFIG");
    assert.match(result.json.error.message, /a config file may be 2097152/);
  });

  test("a YAML alias bomb is BAD_CONFIG, not INTERNAL", async () => {
    const bomb = join(ws.dir, "bomb.yaml");
    const levels = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"];
    for (let i = 1; i < 9; i++) {
      const name = String.fromCharCode(97 + i);
      const previous = String.fromCharCode(96 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(", ")}]`);
    }
    await writeFile(bomb, levels.join("\n") + "\nrepository: { url: file:///r, password_env: P }\n");
    const result = await runCli(["-c", bomb, "snapshots", "--json"]);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.json.error.code, "BAD_CONFIG");
    assert.doesNotMatch(result.stderr, /this is a bug/i);
  });
});
