// Tags changed after backup (`tag add|remove`: a new manifest and id, the
// first id kept as `original`, the old manifest gone), `snapshots --tag`
// filters, a retagged bundle member still restoring with its bundle, and
// `stats` figures checked against data whose dedup and compression we know.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { uploadsWorkspace, workspace } from "./support/cli.ts";
import { FIXTURE_PASSWORD } from "./fixtures/repo-v1/generate.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;
type Listed = { id: string; tags: string[]; original: string | null };

describe("tag add|remove and snapshots --tag", () => {
  let ws: Workspace;
  const ids: string[] = [];
  const listing = async (...args: string[]): Promise<Listed[]> => {
    const list = await ws.cli(["snapshots", ...args, "--json"]);
    assert.equal(list.code, 0, list.stderr);
    return list.json.snapshots;
  };
  const manifestExists = (id: string) => existsSync(join(ws.dir, "repo", "snapshots", id));

  before(async () => {
    ws = await uploadsWorkspace(async (uploads) => writeFile(join(uploads, "a.txt"), "first"));
    for (const content of ["first", "second", "third"]) {
      await writeFile(join(ws.dir, "uploads", "a.txt"), content);
      const backup = await ws.cli(["backup", "--json"]);
      assert.equal(backup.code, 0, backup.stderr);
      ids.push(backup.json.snapshots[0].id);
    }
  });
  after(() => ws?.cleanup());

  test("add then remove: a new id each time, the first id kept as original, the old manifest gone", async () => {
    const first = ids[0]!;
    const added = await ws.cli(["tag", "add", first.slice(0, 10), "release", "v1.0", "--json"]);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.json.from, first);
    assert.equal(added.json.changed, true);
    assert.notEqual(added.json.id, first);
    assert.equal(added.json.original, first);
    assert.deepEqual(added.json.tags, ["release", "v1.0"]);
    assert.deepEqual(added.json.added, ["release", "v1.0"]);
    assert.equal(manifestExists(first), false);
    assert.equal(manifestExists(added.json.id), true);

    const removed = await ws.cli(["tag", "remove", added.json.id.slice(0, 12), "v1.0", "--json"]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.json.from, added.json.id);
    assert.equal(removed.json.original, first, "the first id, not the one before");
    assert.deepEqual(removed.json.tags, ["release"]);
    assert.deepEqual(removed.json.removed, ["v1.0"]);
    assert.equal(manifestExists(added.json.id), false);

    const list = await listing();
    assert.deepEqual(
      list.map(({ id, tags, original }) => [id, tags, original]),
      [
        [removed.json.id, ["release"], first],
        [ids[1], [], null],
        [ids[2], [], null],
      ],
      "same place in the listing: the consistent point did not change",
    );
    ids[0] = removed.json.id;

    // Another host, with no cache, sees the same; and the retagged snapshot restores.
    await ws.dropCache();
    const restored = join(ws.dir, "restored");
    const restore = await ws.cli(["restore", "uploads", "--snapshot", ids[0]!, "--to", restored, "--json"]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(await readFile(join(restored, "a.txt"), "utf8"), "first");

    const text = await ws.cli(["tag", "add", ids[0]!, "keep"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(`snapshot ${ids[0]!.slice(0, 8)} of uploads is now [0-9a-f]{8} with tags keep,release`),
    );
    ids[0] = (await listing())[0]!.id;
  });

  test("a change that changes nothing writes nothing", async () => {
    const again = await ws.cli(["tag", "add", ids[0]!, "release", "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json.changed, false);
    assert.equal(again.json.id, ids[0]);
    const absent = await ws.cli(["tag", "remove", ids[1]!, "nothing-here", "--json"]);
    assert.equal(absent.json.changed, false);
    assert.equal(absent.json.id, ids[1]);
    assert.equal(absent.json.original, null);
    assert.deepEqual(
      (await listing()).map(({ id }) => id),
      ids,
    );
  });

  test("--dry-run names the id a real run gives and changes nothing", async () => {
    const dry = await ws.cli([
      "tag",
      "add",
      "latest",
      "nightly",
      "--source",
      "uploads",
      "--dry-run",
      "--json",
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.json.dryRun, true);
    assert.equal(dry.json.from, ids[2]);
    assert.deepEqual(
      (await listing()).map(({ id }) => id),
      ids,
    );
    assert.equal(manifestExists(dry.json.id), false);
    const real = await ws.cli(["tag", "add", "latest", "nightly", "--source", "uploads", "--json"]);
    assert.equal(real.code, 0, real.stderr);
    assert.equal(real.json.id, dry.json.id);
    ids[2] = real.json.id;
  });

  test("internal prefixes and words that are not tags are refused, and nothing changes", async () => {
    const before = await listing();
    for (const [action, tag] of [
      ["add", "bundle:0123"],
      ["remove", "bundle:0123"],
      ["add", "group:platform"],
      ["add", "two words"],
      ["add", "a,b"],
      ["add", "-leading"],
      ["remove", ""],
    ]) {
      const result = await ws.cli(["tag", action!, ids[1]!, tag!, "--json"]);
      assert.equal(result.code, 2, `${action} ${tag}: ${result.stderr}`);
      assert.equal(result.json.error.code, "BAD_ARGUMENT");
    }
    const unknown = await ws.cli(["tag", "add", "ffffffff", "x", "--json"]);
    assert.equal(unknown.code, 3, unknown.stderr);
    assert.equal(unknown.json.error.code, "SNAPSHOT_NOT_FOUND");
    assert.deepEqual(await listing(), before);
  });

  test("snapshots --tag: a,b needs both, repeated --tag takes either", async () => {
    // ids[0]: keep,release; ids[1]: none; ids[2]: nightly
    const pick = async (...filters: string[]) =>
      (await listing(...filters.flatMap((filter) => ["--tag", filter]))).map(({ id }) => id);
    assert.deepEqual(await pick("release"), [ids[0]]);
    assert.deepEqual(await pick("release,keep"), [ids[0]]);
    assert.deepEqual(await pick("release,nightly"), []);
    assert.deepEqual(await pick("release", "nightly"), [ids[0], ids[2]]);
    assert.deepEqual(await pick("nope"), []);
    const text = await ws.cli(["snapshots", "--tag", "nightly"]);
    assert.equal(text.code, 0, text.stderr);
    assert.ok(text.stdout.includes(ids[2]!.slice(0, 8)) && !text.stdout.includes(ids[0]!.slice(0, 8)));
    const bad = await ws.cli(["snapshots", "--tag", "a,,b", "--json"]);
    assert.equal(bad.code, 2);
    assert.equal(bad.json.error.code, "BAD_ARGUMENT");
  });
});

describe("a retagged bundle member", () => {
  let ws: Workspace;
  before(async () => {
    ws = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  left: { engine: files, path: "${dir}/left" }
  right: { engine: files, path: "${dir}/right" }
groups:
  pair: [left, right]
`,
    );
    for (const side of ["left", "right"]) {
      await mkdir(join(ws.dir, side));
      await writeFile(join(ws.dir, side, `${side}.txt`), side);
    }
    assert.equal((await ws.cli(["init"])).code, 0);
  });
  after(() => ws?.cleanup());

  test("still restores with its bundle, under its new id", async () => {
    const backup = await ws.cli(["backup", "--group", "pair", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    const member = backup.json.bundle.members.find((m: { source: string }) => m.source === "left");
    const retag = await ws.cli(["tag", "add", member.snapshot, "pin", "--json"]);
    assert.equal(retag.code, 0, retag.stderr);
    assert.ok(
      retag.json.tags.some((tag: string) => tag.startsWith("bundle:")),
      "the bundle tag stays",
    );

    const restore = await ws.cli([
      "restore",
      "--group",
      "pair",
      "--to",
      `left=${join(ws.dir, "r-left")}`,
      "--to",
      `right=${join(ws.dir, "r-right")}`,
      "--json",
    ]);
    assert.equal(restore.code, 0, restore.stderr);
    const restored = Object.fromEntries(
      restore.json.members.map((m: { source: string; snapshot: string }) => [m.source, m.snapshot]),
    );
    assert.equal(restored["left"], retag.json.id);
    assert.equal(await readFile(join(ws.dir, "r-left", "left.txt"), "utf8"), "left");
    assert.equal(await readFile(join(ws.dir, "r-right", "right.txt"), "utf8"), "right");

    // Retention keeps bundles whole by that tag (plan/bundles.ts): it is not the user's to remove.
    const remove = await ws.cli([
      "tag",
      "remove",
      retag.json.id,
      "bundle:" + backup.json.bundle.id,
      "--json",
    ]);
    assert.equal(remove.code, 2, "the bundle tag cannot be removed");
  });
});

describe("stats", () => {
  let ws: Workspace;
  type Totals = {
    snapshots: number;
    logicalBytes: number;
    uniquePlainBytes: number | null;
    storedBytes: number | null;
    deduplicationRatio: number | null;
    compressionRatio: number | null;
    missingChunks: number;
  };
  const stats = async (...args: string[]) => {
    const result = await ws.cli(["stats", ...args, "--json"]);
    assert.equal(result.code, 0, result.stderr);
    return result.json as {
      format: number;
      plainSizesKnown: boolean;
      dataBytes: number;
      total: Totals;
      sources: (Totals & {
        source: string;
        growth: { id: string; previous: string | null; newChunks: number; newStoredBytes: number }[];
      })[];
    };
  };

  before(async () => {
    ws = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  text: { engine: files, path: "${dir}/text" }
  noise: { engine: files, path: "${dir}/noise" }
`,
    );
    await mkdir(join(ws.dir, "text"));
    await mkdir(join(ws.dir, "noise"));
    await writeFile(join(ws.dir, "text", "log.txt"), "the same line, again and again\n".repeat(100_000));
    await writeFile(join(ws.dir, "noise", "random.bin"), randomBytes(3 * 1024 * 1024));
    assert.equal((await ws.cli(["init"])).code, 0);
  });
  after(() => ws?.cleanup());

  test("dedup ~2 after a second identical backup, stored bytes unchanged; compression ~1 and > 5", async () => {
    assert.equal((await ws.cli(["backup", "--json"])).code, 0);
    const once = await stats();
    assert.equal(once.format, 2);
    assert.equal(once.plainSizesKnown, true);
    assert.equal(once.total.snapshots, 2);
    assert.equal(once.total.missingChunks, 0);

    assert.equal((await ws.cli(["backup", "--json"])).code, 0);
    const twice = await stats();
    assert.equal(twice.total.snapshots, 4);
    assert.equal(twice.total.storedBytes, once.total.storedBytes, "the second backup stored nothing new");
    assert.equal(twice.total.uniquePlainBytes, once.total.uniquePlainBytes);
    assert.equal(twice.total.logicalBytes, 2 * once.total.logicalBytes);
    assert.ok(Math.abs(twice.total.deduplicationRatio! - 2) < 0.01, String(twice.total.deduplicationRatio));

    const bySource = Object.fromEntries(twice.sources.map((source) => [source.source, source]));
    const noise = bySource["noise"]!;
    const text = bySource["text"]!;
    assert.ok(
      noise.compressionRatio! > 0.95 && noise.compressionRatio! <= 1.01,
      String(noise.compressionRatio),
    );
    assert.ok(text.compressionRatio! > 5, String(text.compressionRatio));
    // Stored bytes are what the index records; data/ holds those plus pack headers.
    assert.ok(
      twice.dataBytes >= twice.total.storedBytes!,
      `${twice.dataBytes} vs ${twice.total.storedBytes}`,
    );
    assert.ok(noise.storedBytes! > 3 * 1024 * 1024 * 0.99);

    // Growth: the second snapshot of a source added nothing; the first had no previous.
    assert.equal(noise.growth.length, 2);
    assert.equal(noise.growth[0]!.previous, null);
    assert.ok(noise.growth[0]!.newChunks > 0);
    assert.equal(noise.growth[1]!.previous, noise.growth[0]!.id);
    assert.equal(noise.growth[1]!.newChunks, 0);
    assert.equal(noise.growth[1]!.newStoredBytes, 0);

    const only = await stats("text", "--last", "1");
    assert.deepEqual(
      only.sources.map((source) => source.source),
      ["text"],
    );
    assert.equal(only.sources[0]!.growth.length, 1);
    assert.equal(only.total.storedBytes, text.storedBytes);

    const human = await ws.cli(["stats"]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /DEDUP/);
    assert.match(human.stdout, /2\.00x/);
    const bad = await ws.cli(["stats", "--last", "0", "--json"]);
    assert.equal(bad.code, 2);
    assert.equal(bad.json.error.code, "BAD_ARGUMENT");
  });

  test("a format 1 repository: stored sizes from data/, plaintext sizes unknown and said so", async () => {
    const v1 = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  fixture-db: { engine: sqlite, path: "${dir}/fixture.db" }
`,
      FIXTURE_PASSWORD,
    );
    try {
      await cp(join(import.meta.dirname, "fixtures", "repo-v1"), join(v1.dir, "repo"), { recursive: true });
      const result = await v1.cli(["stats", "--json"]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.json.format, 1);
      assert.equal(result.json.plainSizesKnown, false);
      assert.equal(result.json.total.logicalBytes, 2955 + 9000);
      assert.equal(result.json.total.uniquePlainBytes, null);
      assert.equal(result.json.total.deduplicationRatio, null);
      assert.equal(result.json.total.compressionRatio, null);
      assert.ok(result.json.total.storedBytes > 0);
      const text = await v1.cli(["stats"]);
      assert.match(text.stdout, /not recorded in a format 1 repository/);
    } finally {
      await v1.cleanup();
    }
  });
});
