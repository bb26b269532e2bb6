// Damage stays local (ARCHITECTURE.md faults 1, 2, 7 and 18, issue #6 §3):
// a damaged manifest affects only its own snapshot, a damaged config is
// recovered from the authenticated copy in the key files, a damaged key file
// is KEY_DAMAGED naming it (never WRONG_PASSWORD) while another key opens,
// and absurd scrypt parameters are refused at once.

import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { repairConfigCommand } from "../src/cli/commands/repair.ts";
import { createOutput } from "../src/cli/output.ts";
import { canonicalJson, KEYS_PREFIX } from "../src/repository/key-files.ts";
import { snapshotKey } from "../src/repository/layout.ts";
import { initRepository, openRepository } from "../src/repository/repository.ts";
import { draft, readAll, rejectsWith, TEST_CHUNKER, TEST_KDF } from "./support/repository-testing.ts";
import type { DamagedObject, Repository } from "../src/repository/types.ts";
import { silentLogger } from "../src/runtime/logger.ts";
import { FsBackend } from "../src/storage/fs.ts";
import { MemoryBackend } from "../src/storage/memory.ts";
import { FIXTURE_PASSWORD } from "./fixtures/repo-v1/generate.ts";
import { workspace } from "./support/cli.ts";

const PASSWORD = "first password";
const SECOND = "second password";

async function repositoryWithSnapshots() {
  const backend = new MemoryBackend();
  const repository = await initRepository(backend, {
    password: PASSWORD,
    chunker: TEST_CHUNKER,
    kdf: TEST_KDF,
  });
  const snapshots = [];
  for (const [source, at, text] of [
    ["app", "2025-01-01T00:00:00.000Z", "old app data"],
    ["other", "2025-01-02T00:00:00.000Z", "other data"],
    ["app", "2025-01-03T00:00:00.000Z", "new app data"],
  ] as const) {
    const writer = await repository.newSnapshotWriter();
    await writer.write("data", Readable.from(Buffer.from(text.repeat(1000))));
    snapshots.push(await writer.commit(draft(source, at)));
  }
  await repository.close();
  return { backend, snapshots };
}

function flipAt(backend: MemoryBackend, key: string, offset?: number): void {
  const bytes = Uint8Array.from(backend.objects.get(key)!);
  const at = offset ?? Math.floor(bytes.length / 2);
  bytes[at]! ^= 0x01;
  backend.objects.set(key, bytes);
}

async function openRecording(backend: MemoryBackend, password: string | null) {
  const warnings: DamagedObject[] = [];
  const repository = await openRepository(backend, password, { onWarning: (w) => warnings.push(w) });
  return { repository, warnings };
}

function keyIds(backend: MemoryBackend): string[] {
  return [...backend.objects.keys()].filter((key) => key.startsWith(KEYS_PREFIX));
}

describe("a damaged manifest affects only its own snapshot", () => {
  it("lists the others, restores them by id and prefix, names it, and warns that it may have been latest", async () => {
    const { backend, snapshots } = await repositoryWithSnapshots();
    const [oldApp, other, newApp] = snapshots as [
      (typeof snapshots)[0],
      (typeof snapshots)[0],
      (typeof snapshots)[0],
    ];
    const damagedKey = snapshotKey(newApp.id);
    flipAt(backend, damagedKey);

    const { repository, warnings } = await openRecording(backend, PASSWORD);
    const listing = await repository.listSnapshotsWithDamage();
    assert.deepEqual(
      listing.snapshots.map((s) => s.id),
      [oldApp.id, other.id],
    );
    assert.deepEqual(
      listing.damaged.map((d) => [d.id, d.object, d.code]),
      [[newApp.id, damagedKey, "CHECKSUM_MISMATCH"]],
    );
    assert.equal(warnings.length, 0, "the listing that returns the damage does not also warn");

    // Intact snapshots restore, by full id and by prefix.
    assert.equal((await readAll(repository, other.id, "data")).toString(), "other data".repeat(1000));
    assert.equal((await repository.findSnapshot(oldApp.id.slice(0, 12))).id, oldApp.id);

    // "latest" is the newest readable one, with a warning naming the damaged manifest.
    assert.equal((await repository.findSnapshot("latest", "app")).id, oldApp.id);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.object, damagedKey);
    assert.match(warnings[0]!.message, /may have been newer/);

    // Selecting the damaged one is its damage error naming it, not "not found".
    const error = await rejectsWith(repository.findSnapshot(newApp.id), "CHECKSUM_MISMATCH");
    assert.equal(error.details["object"], damagedKey);

    // check names it, and only it.
    const report = await repository.check({ readDataPercent: 100 });
    assert.deepEqual(
      report.problems.map((p) => [p.code, p.object, p.snapshots]),
      [["CHECKSUM_MISMATCH", damagedKey, [newApp.id]]],
    );
    await repository.close();
  });

  it("a zero-byte manifest is OBJECT_TRUNCATED and the others still list", async () => {
    const { backend, snapshots } = await repositoryWithSnapshots();
    backend.objects.set(snapshotKey(snapshots[1]!.id), new Uint8Array(0));
    const { repository, warnings } = await openRecording(backend, PASSWORD);
    assert.equal((await repository.listSnapshots()).length, 2);
    assert.deepEqual(
      warnings.map((w) => [w.object, w.code]),
      [[snapshotKey(snapshots[1]!.id), "OBJECT_TRUNCATED"]],
    );
    await repository.close();
  });
});

describe("a damaged config has its own error and a recovery path", () => {
  it("a flipped bit (not JSON any more) opens from the sealed copy, check names it, repairConfig rewrites it", async () => {
    const { backend, snapshots } = await repositoryWithSnapshots();
    const original = Buffer.from(backend.objects.get("config")!);
    flipAt(backend, "config", original.indexOf("{"));

    const { repository, warnings } = await openRecording(backend, PASSWORD);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.object]),
      [["REPOSITORY_CONFIG_DAMAGED", "config"]],
    );
    assert.match(warnings[0]!.message, /not valid JSON.*authenticated copy in keys\//);
    assert.equal((await repository.listSnapshots()).length, 3, "everything else works");
    const report = await repository.check({ readDataPercent: 0 });
    assert.deepEqual(
      report.problems.map((p) => [p.code, p.object]),
      [["REPOSITORY_CONFIG_DAMAGED", "config"]],
    );
    assert.equal(await repository.repairConfig(), true);
    await repository.close();

    assert.deepEqual(Buffer.from(backend.objects.get("config")!), original);
    const { repository: repaired, warnings: after } = await openRecording(backend, PASSWORD);
    assert.deepEqual(after, []);
    assert.equal(await repaired.repairConfig(), false);
    assert.equal((await readAll(repaired, snapshots[0]!.id, "data")).length, "old app data".length * 1000);
    await repaired.close();
  });

  it("a zero-byte or missing-field config is damage too, and recovers the same way", async () => {
    for (const damaged of ["", '{ "version": 1 }']) {
      const { backend } = await repositoryWithSnapshots();
      backend.objects.set("config", Buffer.from(damaged));
      const { repository, warnings } = await openRecording(backend, PASSWORD);
      assert.equal(warnings[0]?.code, "REPOSITORY_CONFIG_DAMAGED");
      assert.equal((await repository.listSnapshots()).length, 3);
      await repository.close();
    }
  });

  it("a changed character in the repository id is config damage, not KEY_NOT_FOUND", async () => {
    const { backend } = await repositoryWithSnapshots();
    const config = JSON.parse(Buffer.from(backend.objects.get("config")!).toString());
    const id: string = config.id;
    const changed = { ...config, id: (id[0] === "a" ? "b" : "a") + id.slice(1) };
    backend.objects.set("config", Buffer.from(JSON.stringify(changed, null, 2) + "\n"));

    const { repository, warnings } = await openRecording(backend, PASSWORD);
    assert.equal(repository.config.id, id, "the authentic id, from the copy");
    assert.equal(warnings[0]?.code, "REPOSITORY_CONFIG_DAMAGED");
    assert.match(warnings[0]!.message, new RegExp(`key files name ${id}`));
    await repository.close();

    // A password that opens no key cannot prove any copy: the error is still the config's, with a hint.
    const error = await rejectsWith(openRepository(backend, "wrong password"), "REPOSITORY_CONFIG_DAMAGED");
    assert.match(error.message, /no key file this password opens keeps a copy/);
  });

  it("a config that still parses but differs from its copy is replaced by the copy", async () => {
    const { backend } = await repositoryWithSnapshots();
    const config = JSON.parse(Buffer.from(backend.objects.get("config")!).toString());
    const changed = { ...config, chunker: { ...config.chunker, max: config.chunker.max * 2 } };
    backend.objects.set("config", Buffer.from(JSON.stringify(changed, null, 2) + "\n"));
    const { repository, warnings } = await openRecording(backend, PASSWORD);
    assert.equal(repository.config.chunker.max, config.chunker.max);
    assert.match(warnings[0]!.message, /differs from the authenticated copy/);
    await repository.close();
  });

  it("a damaged config of a repository whose key files predate the copy is REPOSITORY_CONFIG_DAMAGED with a hint", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lifeboat-damage-fixture-"));
    try {
      await cp(join(import.meta.dirname, "fixtures", "repo-v1"), dir, { recursive: true });
      const bytes = await readFile(join(dir, "config"));
      bytes[0]! ^= 0x01;
      await writeFile(join(dir, "config"), bytes);
      const error = await rejectsWith(
        openRepository(new FsBackend(dir), FIXTURE_PASSWORD),
        "REPOSITORY_CONFIG_DAMAGED",
      );
      assert.equal(error.exitCode, 3);
      assert.equal(error.details["object"], "config");
      assert.match(error.message, /not valid JSON/);
      assert.match(error.hint, /copy it back from any copy of the repository/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("key files carry an integrity check", () => {
  async function twoKeys() {
    const { backend } = await repositoryWithSnapshots();
    const [first] = keyIds(backend);
    const repository = await openRepository(backend, PASSWORD);
    await repository.addKey(SECOND);
    await repository.close();
    return { backend, first: first! };
  }

  it("with one damaged key file the other password still opens, and the damaged one is named", async () => {
    const { backend, first } = await twoKeys();
    const text = Buffer.from(backend.objects.get(first)!).toString();
    // One changed character inside the wrapped key: still JSON, still base64, no longer what was written.
    const wrapped = /"data": "([A-Za-z0-9+/]+)/.exec(text)!;
    const at = wrapped.index + wrapped[0].length - 5;
    const damaged = text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
    backend.objects.set(first, Buffer.from(damaged));

    const { repository, warnings } = await openRecording(backend, SECOND);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.object]),
      [["KEY_DAMAGED", first]],
    );
    assert.deepEqual(
      (await repository.check({ readDataPercent: 0 })).problems.map((p) => [p.code, p.object]),
      [["KEY_DAMAGED", first]],
    );
    await repository.close();

    // The damaged key's own password: KEY_DAMAGED naming the file, not WRONG_PASSWORD.
    const error = await rejectsWith(openRepository(backend, PASSWORD), "KEY_DAMAGED");
    assert.ok(error.message.includes(first), error.message);
    assert.match(error.message, /does not match its checksum/);
  });

  it("a wrong password with every key file intact is still WRONG_PASSWORD", async () => {
    const { backend } = await twoKeys();
    await rejectsWith(openRepository(backend, "not it"), "WRONG_PASSWORD");
  });

  it("a single key file that is not JSON any more is KEY_DAMAGED", async () => {
    const { backend } = await repositoryWithSnapshots();
    const [only] = keyIds(backend);
    backend.objects.set(only!, Buffer.from("{ truncated"));
    const error = await rejectsWith(openRepository(backend, PASSWORD), "KEY_DAMAGED");
    assert.equal(error.details["object"], only);
  });

  for (const [label, kdf] of [
    ["N = 2^40", { N: 2 ** 40, r: 8, p: 1 }],
    ["r = 2^30", { N: 1024, r: 2 ** 30, p: 1 }],
    ["p = 2^20", { N: 1024, r: 8, p: 2 ** 20 }],
    ["N not a power of two", { N: 1000, r: 8, p: 1 }],
  ] as const) {
    it(`absurd scrypt parameters (${label}) are refused at once as KEY_DAMAGED, with or without a checksum`, async () => {
      const { backend } = await repositoryWithSnapshots();
      const [only] = keyIds(backend);
      const file = JSON.parse(Buffer.from(backend.objects.get(only!)!).toString());
      const { checksum: _checksum, ...rest } = file;
      const hostile = { ...rest, kdf: { ...rest.kdf, ...kdf } };
      // With a valid checksum (written that way), and as an older file without one.
      const sealed = {
        ...hostile,
        checksum: createHash("sha256").update(canonicalJson(hostile)).digest("hex"),
      };
      for (const variant of [sealed, hostile]) {
        backend.objects.set(only!, Buffer.from(JSON.stringify(variant)));
        const started = Date.now();
        const error = await rejectsWith(openRepository(backend, PASSWORD), "KEY_DAMAGED");
        assert.ok(Date.now() - started < 2000, "refused before deriving anything");
        assert.match(error.message, /scrypt|kdf/);
      }
    });
  }
});

describe("the single-key advice holds: a second key survives the first", () => {
  it("after `key add`, losing the first key file entirely still opens with the second password", async () => {
    const { backend, snapshots } = await repositoryWithSnapshots();
    const [first] = keyIds(backend);
    const repository: Repository = await openRepository(backend, PASSWORD);
    await repository.addKey(SECOND);
    await repository.close();
    backend.objects.delete(first!);
    const reopened = await openRepository(backend, SECOND);
    assert.equal((await reopened.findSnapshot(snapshots[2]!.id)).source, "app");
    await reopened.close();
  });
});

describe("through the CLI", () => {
  let ws: Awaited<ReturnType<typeof workspace>>;
  let ids: { a: string; b: string };
  const repo = () => join(ws.dir, "repo");

  before(async () => {
    ws = await workspace(
      (dir) => `repository:
  url: file://${dir}/repo
  password_env: LIFEBOAT_PASSWORD
sources:
  a: { engine: files, path: ${dir}/a }
  b: { engine: files, path: ${dir}/b }
`,
    );
    for (const name of ["a", "b"]) {
      await mkdir(join(ws.dir, name));
      await writeFile(join(ws.dir, name, "file.txt"), `${name} `.repeat(10_000));
    }
  });
  after(async () => {
    await ws?.cleanup();
  });

  it("init says a single key is a single point of failure, in text and JSON", async () => {
    const init = await ws.cli(["init", "--json"]);
    assert.equal(init.code, 0, init.stderr);
    assert.equal(init.json.singleKey, true);
    assert.match(init.json.advice, /single key.*lifeboat key add --new-password-file/);
    const backup = await ws.cli(["backup", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    const bySource = Object.fromEntries(
      backup.json.snapshots.map((s: { source: string; id: string }) => [s.source, s.id]),
    );
    ids = { a: bySource.a, b: bySource.b };
  });

  it("one flipped byte in one manifest: snapshots lists the rest (exit 0) and names it; the other restores", async () => {
    const manifest = join(repo(), "snapshots", ids.a);
    const bytes = await readFile(manifest);
    bytes[bytes.length - 20]! ^= 0x01;
    await writeFile(manifest, bytes);
    await ws.dropCache(); // as on a host that never read the intact manifest

    const list = await ws.cli(["snapshots", "--json"]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      list.json.snapshots.map((s: { id: string }) => s.id),
      [ids.b],
    );
    assert.deepEqual(
      list.json.damaged.map((d: { id: string; object: string; code: string }) => [d.id, d.object, d.code]),
      [[ids.a, `snapshots/${ids.a}`, "CHECKSUM_MISMATCH"]],
    );
    assert.match(list.stderr, new RegExp(`snapshot ${ids.a.slice(0, 8)} is damaged.*lifeboat check`));
    const text = await ws.cli(["snapshots"]);
    assert.match(text.stdout, /DAMAGED/);

    const restore = await ws.cli([
      "restore",
      "b",
      "--snapshot",
      ids.b.slice(0, 10),
      "--to",
      join(ws.dir, "out-b"),
    ]);
    assert.equal(restore.code, 0, restore.stderr);
    const latest = await ws.cli(["restore", "b", "--to", join(ws.dir, "out-b2")]);
    assert.equal(latest.code, 0, latest.stderr);
    assert.match(latest.stderr, new RegExp(`snapshots/${ids.a}.*may have been newer`));
    const damaged = await ws.cli(["restore", "a", "--to", join(ws.dir, "out-a"), "--json"]);
    assert.equal(damaged.code, 4);
    assert.equal(damaged.json.error.code, "CHECKSUM_MISMATCH");
    assert.equal(damaged.json.error.details.object, `snapshots/${ids.a}`);

    const check = await ws.cli(["check", "--json"]);
    assert.equal(check.code, 4);
    assert.deepEqual(
      check.json.problems.map((p: { object: string }) => p.object),
      [`snapshots/${ids.a}`],
    );
    bytes[bytes.length - 20]! ^= 0x01; // mend it for the next tests
    await writeFile(manifest, bytes);
  });

  it("a flipped bit in config: commands work from the sealed copy, check names it, repair rewrites it", async () => {
    const configPath = join(repo(), "config");
    const original = await readFile(configPath);
    const damaged = Buffer.from(original);
    damaged[original.indexOf('"id"') + 1]! ^= 0x01; // "id" becomes "hd": valid JSON, invalid config
    await writeFile(configPath, damaged);

    const list = await ws.cli(["snapshots", "--json"]);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.json.snapshots.length, 2);
    assert.match(list.stderr, /REPOSITORY_CONFIG_DAMAGED/);
    const check = await ws.cli(["check", "--json"]);
    assert.equal(check.code, 4);
    assert.equal(check.json.problems[0].code, "REPOSITORY_CONFIG_DAMAGED");

    const printed: string[] = [];
    const env = {
      options: { config: ws.configFile, json: true },
      output: createOutput(true, (text) => printed.push(text)),
      log: silentLogger,
      signal: new AbortController().signal,
    };
    process.env.LIFEBOAT_PASSWORD = ws.password;
    try {
      await repairConfigCommand(env);
    } finally {
      delete process.env.LIFEBOAT_PASSWORD;
    }
    assert.equal(JSON.parse(printed.join("")).repaired, true);
    assert.deepEqual(await readFile(configPath), original);
    const clean = await ws.cli(["check", "--json"]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  });

  it("a damaged key file is KEY_DAMAGED naming it, exit 3; a second password still opens", async () => {
    const add = await ws.cli(["key", "add"], { LIFEBOAT_NEW_PASSWORD: SECOND });
    assert.equal(add.code, 0, add.stderr);
    const keys = await ws.cli(["key", "list", "--json"]);
    const current = keys.json.keys.find((key: { current: boolean }) => key.current).id;
    const keyPath = join(repo(), "keys", current);
    const text = await readFile(keyPath, "utf8");
    await writeFile(keyPath, text.replace(/"hostname": "([^"]*)"/, '"hostname": "$1x"'));

    const wrong = await ws.cli(["snapshots", "--json"]);
    assert.equal(wrong.code, 3);
    assert.equal(wrong.json.error.code, "KEY_DAMAGED");
    assert.ok(wrong.json.error.message.includes(`keys/${current}`));
    const other = await ws.cli(["key", "list", "--json"], { LIFEBOAT_PASSWORD: SECOND });
    assert.equal(other.code, 0, other.stderr);
    assert.deepEqual(
      other.json.damaged.map((d: { object: string }) => d.object),
      [`keys/${current}`],
    );
    assert.match(other.stderr, /KEY_DAMAGED/);

    // The hint's way out: remove the damaged key with the other password; check is clean again.
    const remove = await ws.cli(["key", "remove", current.slice(0, 12), "--json"], {
      LIFEBOAT_PASSWORD: SECOND,
    });
    assert.equal(remove.code, 0, remove.stderr);
    const check = await ws.cli(["check", "--json"], { LIFEBOAT_PASSWORD: SECOND });
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });
});
