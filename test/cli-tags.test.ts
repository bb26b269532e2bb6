// Tags set at backup (`backup --tag`), and what retention makes of them:
// `--keep-tag` keeps tagged snapshots, the tag `pin` keeps one whatever the
// policy, and a tag that is not a plain word is refused before anything runs.

import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { uploadsWorkspace } from "./support/cli.ts";

let ws: Awaited<ReturnType<typeof uploadsWorkspace>>;
const ids: Record<string, string> = {};

before(async () => {
  ws = await uploadsWorkspace(async (uploads) => writeFile(join(uploads, "a.txt"), "a"));
  for (const [name, tags] of [
    ["pinned", ["pin"]],
    ["release", ["release", "v1.2"]],
    ["plain-1", []],
    ["plain-2", []],
  ] as const) {
    await writeFile(join(ws.dir, "uploads", "a.txt"), name);
    const backup = await ws.cli(["backup", ...tags.flatMap((tag) => ["--tag", tag]), "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.deepEqual(backup.json.snapshots[0].tags, [...tags].sort());
    ids[name] = backup.json.snapshots[0].id;
  }
});
after(() => ws.cleanup());

test("snapshots list the tags; forget keeps the pinned and --keep-tag ones beside --keep-last", async () => {
  const list = await ws.cli(["snapshots", "--json"]);
  assert.deepEqual(
    list.json.snapshots.map((snapshot: { tags: string[] }) => snapshot.tags),
    [["pin"], ["release", "v1.2"], [], []],
  );
  const dry = await ws.cli(["forget", "--keep-last", "1", "--keep-tag", "release", "--dry-run", "--json"]);
  assert.equal(dry.code, 0, dry.stderr);
  const planned = dry.json.sources[0] as {
    keep: { id: string; reasons: { rule: string }[] }[];
    remove: { id: string }[];
  };
  assert.deepEqual(
    planned.remove.map(({ id }) => id),
    [ids["plain-1"]],
  );
  const rules = Object.fromEntries(
    planned.keep.map((kept) => [kept.id, kept.reasons.map((reason) => reason.rule)]),
  );
  assert.ok(rules[ids["pinned"]!]!.includes("pinned"), JSON.stringify(rules));
  assert.equal(rules[ids["plain-2"]!]![0], "last");
  assert.ok(
    rules[ids["release"]!]!.some((rule) => rule.includes("tag")),
    JSON.stringify(rules),
  );
});

test("a tag that is not a plain word is refused before anything is backed up", async () => {
  // bundle: tags are Lifeboat's own: a user's would make retention keep a "bundle" that is none.
  for (const tag of ["", "two words", "a,b", "-leading", "x".repeat(65), "bundle:abc", "group:x"]) {
    const result = await ws.cli(["backup", "--tag", tag, "--json"]);
    assert.equal(result.code, 2, `${tag}: ${result.stderr}`);
    assert.equal(result.json.error.code, "BAD_ARGUMENT");
  }
  const list = await ws.cli(["snapshots", "--json"]);
  assert.equal(list.json.snapshots.length, 4);
});
