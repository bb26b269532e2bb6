// A damaged `config` through the real CLI: named as such (not KEY_NOT_FOUND or
// "not valid JSON"), readable commands still work from the authenticated copy
// in the key files, and `lifeboat repair config` puts the original bytes back.

import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { uploadsWorkspace, type workspace } from "./support/cli.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;
let ws: Workspace;

before(async () => {
  ws = await uploadsWorkspace((uploads) => writeFile(join(uploads, "a.txt"), "hello"));
  assert.equal((await ws.cli(["backup"])).code, 0);
});
after(() => ws.cleanup());

test("a changed character in config is repaired from the key files' sealed copy", async () => {
  const configFile = join(ws.dir, "repo", "config");
  const original = await readFile(configFile);
  const text = original.toString("utf8");
  const at = text.indexOf('"id": "') + 10;
  const damaged = text.slice(0, at) + (text[at] === "a" ? "b" : "a") + text.slice(at + 1);
  await writeFile(configFile, damaged);

  const list = await ws.cli(["snapshots", "--json"]);
  assert.equal(list.code, 0, list.stderr);
  assert.equal(list.json.snapshots.length, 1);
  assert.match(list.stderr, /config/i);
  assert.doesNotMatch(list.stderr, /KEY_NOT_FOUND/);

  const repair = await ws.cli(["repair", "config", "--json"]);
  assert.equal(repair.code, 0, repair.stderr);
  assert.deepEqual(await readFile(configFile), original);
  const check = await ws.cli(["check", "--json"]);
  assert.equal(check.code, 0, check.stderr);
  assert.equal(check.json.ok, true);
});
