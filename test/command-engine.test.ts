// The command engine with real commands: the sqlite3 CLI and a folder of
// files stand in for a service (capture = `.dump` / copying files, restore =
// feeding the dump / copying back, fingerprint = facts printed as JSON).
// Covers streaming, failing and interrupted captures, a damaged artifact that
// must never reach the restore command, the env allow-list and its secrets,
// bad facts, target guards and scratch targets.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { commandEngine } from "../src/engines/command/index.ts";
import { commandSourceSchema, type CommandSourceConfig } from "../src/engines/command/config.ts";
import { parseFacts } from "../src/engines/command/facts.ts";
import type { ArtifactSink, EngineContext } from "../src/engines/engine.ts";
import { compareFingerprints } from "../src/domain/fingerprint.ts";
import { LifeboatError, isLifeboatError } from "../src/errors.ts";
import { engineWorkdir } from "./support/engine-workdir.ts";
import { CorruptArtifacts, MemoryArtifacts } from "./support/memory-artifacts.ts";

const workdir = engineWorkdir("command");

/** The context a restore or drill of a snapshot gives the engine (EngineContext.restoring). */
function during(engineMeta: Record<string, unknown>, source?: CommandSourceConfig): EngineContext {
  return { ...workdir.context, restoring: { engineMeta, ...(source ? { source } : {}) } };
}
const sqlite3 = "/usr/bin/sqlite3";

function sql(path: string, statement: string): string {
  const result = spawnSync(sqlite3, [path, statement], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

/** A SQLite "service" and a command source that dumps, restores and fingerprints it with the sqlite3 CLI. */
async function sqliteService(name: string, overrides: Record<string, unknown> = {}) {
  const dbPath = join(workdir.base, `${name}.db`);
  sql(dbPath, "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);");
  sql(dbPath, "INSERT INTO items(name) VALUES ('alpha'), ('beta'), ('gamma ✓');");
  const source = commandSourceSchema.parse({
    engine: "command",
    capture: `${sqlite3} '${dbPath}' .dump`,
    restore: `${sqlite3} "$LIFEBOAT_TARGET"`,
    fingerprint: `${sqlite3} "\${LIFEBOAT_TARGET:-${dbPath}}" "SELECT json_object('rows:items', (SELECT count(*) FROM items), 'names', (SELECT group_concat(name, '|') FROM (SELECT name FROM items ORDER BY id)))"`,
    probe: `${sqlite3} "$LIFEBOAT_TARGET" "SELECT count(*) FROM sqlite_schema"`,
    target: dbPath,
    ...overrides,
  });
  return { dbPath, source };
}

function source(fields: Record<string, unknown>): CommandSourceConfig {
  return commandSourceSchema.parse({ engine: "command", restore: "cat > /dev/null", ...fields });
}

function withSignal(signal: AbortSignal): EngineContext {
  return { ...workdir.context, signal };
}

/** Running, not a zombie: an orphan reparented to a PID 1 that does not reap stays in /proc as Z. */
function isRunning(pid: number): boolean {
  try {
    const stat = spawnSync("cat", [`/proc/${pid}/stat`], { encoding: "utf8" }).stdout;
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return stat.length > 0 && state !== "Z";
  } catch {
    return false;
  }
}

async function waitForFile(path: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = await readFile(path, "utf8").catch(() => "");
    if (text.trim()) return text.trim();
    await sleep(20);
  }
  throw new Error(`${path} never appeared`);
}

describe("command engine: capture and restore", () => {
  test("stdout capture round trip: restore into another path, the fingerprint command's facts match", async () => {
    const { dbPath, source } = await sqliteService("round-trip");
    const artifacts = new MemoryArtifacts();
    const result = await commandEngine.capture(source, artifacts, workdir.context);
    assert.deepEqual(result.fingerprint, {
      counts: { "rows:items": 3 },
      hashes: { names: "alpha|beta|gamma ✓" },
    });
    assert.deepEqual([...artifacts.stored.keys()], ["capture.out"]);
    assert.match(artifacts.stored.get("capture.out")!.toString(), /CREATE TABLE items/);
    const recipe = result.engineMeta.recipe as Record<string, unknown>;
    assert.equal(recipe.mode, "stdout");
    assert.equal(recipe.restore, source.restore);
    assert.equal(recipe.facts, "command");
    assert.ok(!Number.isNaN(Date.parse(result.consistentAt)));

    const targetPath = join(workdir.base, "round-trip-restored.db");
    const phases: string[] = [];
    await commandEngine.restore(
      { artifacts, engineMeta: result.engineMeta },
      targetPath,
      {},
      { ...during(result.engineMeta), onPhase: (phase) => phases.push(phase) },
    );
    assert.deepEqual(phases, ["restore"]);
    const restored = await commandEngine.fingerprint(targetPath, during(result.engineMeta));
    assert.deepEqual(compareFingerprints(result.fingerprint, restored), []);
    assert.equal(sql(targetPath, ".dump"), sql(dbPath, ".dump"));
    assert.deepEqual(
      (await readdir(workdir.context.tempDir)).filter((name) => name.startsWith("command-")),
      [],
      "the saved artifact is removed",
    );
  });

  test(
    "stdout reaches the sink while the command still runs (it is streamed, not buffered)",
    { timeout: 20_000 },
    async () => {
      const go = join(workdir.base, "stream.go");
      const captured = source({
        capture: `printf first; while [ ! -f '${go}' ]; do sleep 0.05; done; printf second`,
        timeout: "20s",
      });
      const seen: string[] = [];
      const sink: ArtifactSink = {
        async write(name, data) {
          for await (const chunk of data) {
            seen.push(Buffer.from(chunk).toString());
            await writeFile(go, "go"); // the command only finishes once we saw its first bytes
          }
          return { name, size: 0, sha256: "", chunks: [] };
        },
      };
      const result = await commandEngine.capture(captured, sink, workdir.context);
      assert.equal(seen.join(""), "firstsecond");
      assert.ok(seen.length >= 2, "the first bytes arrived before the command wrote the rest");
      assert.equal(result.fingerprint.counts.bytes, "firstsecond".length);
    },
  );

  test("capture_dir round trip: the folder travels as a tar artifact and comes back in $LIFEBOAT_RESTORE_DIR", async () => {
    const service = join(workdir.base, "folder-service");
    await mkdir(join(service, "nested"), { recursive: true });
    await writeFile(join(service, "a.txt"), "alpha\n");
    await writeFile(join(service, "nested", "b.bin"), randomBytes(70_000));
    const facts = `cd "\${LIFEBOAT_TARGET:-${service}}" && printf '{"files": %d, "digest": "%s"}' "$(find . -type f | wc -l)" "$(find . -type f | sort | xargs sha256sum | sha256sum | cut -c1-64)"`;
    const folder = source({
      capture: `cp -R '${service}'/. "$LIFEBOAT_CAPTURE_DIR"/ && echo ignored-stdout`,
      capture_dir: true,
      restore: `mkdir -p "$LIFEBOAT_TARGET" && cp -R "$LIFEBOAT_RESTORE_DIR"/. "$LIFEBOAT_TARGET"/`,
      fingerprint: facts,
    });
    const artifacts = new MemoryArtifacts();
    const result = await commandEngine.capture(folder, artifacts, workdir.context);
    // The folder is captured as the files engine captures a tree: the archive and its index.
    assert.deepEqual([...artifacts.stored.keys()], ["tree.tar", "tree.index"]);
    assert.equal(result.fingerprint.counts.files, 2);
    const listing = spawnSync("tar", ["-tf", "-"], { input: artifacts.stored.get("tree.tar") });
    assert.match(listing.stdout.toString(), /nested\/b\.bin/, "a tar that tar itself reads");
    assert.deepEqual(
      (await readdir(workdir.context.tempDir)).filter((name) => name.startsWith("command-")),
      [],
      "the capture folder is removed",
    );

    const targetPath = join(workdir.base, "folder-restored");
    await commandEngine.restore(
      { artifacts, engineMeta: result.engineMeta },
      targetPath,
      { force: true },
      during(result.engineMeta),
    );
    const restored = await commandEngine.fingerprint(targetPath, during(result.engineMeta));
    assert.deepEqual(compareFingerprints(result.fingerprint, restored), []);
    assert.deepEqual(
      await readFile(join(targetPath, "nested", "b.bin")),
      await readFile(join(service, "nested", "b.bin")),
    );
  });

  test("a capture command that exits 1 after writing output rejects, and nothing is stored", async () => {
    const artifacts = new MemoryArtifacts();
    await assert.rejects(
      commandEngine.capture(
        source({ capture: "echo 'half a snapshot'; echo 'disk on fire' >&2; exit 1" }),
        artifacts,
        workdir.context,
      ),
      (error) =>
        isLifeboatError(error, "SOURCE_TOOL_FAILED") &&
        /exited with code 1/.test(error.message) &&
        /disk on fire/.test(error.message),
    );
    assert.equal(artifacts.stored.size, 0);
  });

  test("a capture command that exits 0 without output is refused (an empty artifact restores nothing)", async () => {
    await assert.rejects(
      commandEngine.capture(source({ capture: "true" }), new MemoryArtifacts(), workdir.context),
      (error) => isLifeboatError(error, "SOURCE_TOOL_FAILED") && /printed nothing/.test(error.message),
    );
    await assert.rejects(
      commandEngine.capture(
        source({ capture: "true", capture_dir: true }),
        new MemoryArtifacts(),
        workdir.context,
      ),
      (error) => isLifeboatError(error, "SOURCE_TOOL_FAILED") && /wrote nothing/.test(error.message),
    );
  });

  test(
    "a capture aborted by the signal stops the command's whole process group and rejects",
    { timeout: 20_000 },
    async () => {
      const shellPid = join(workdir.base, "abort.sh.pid");
      const childPid = join(workdir.base, "abort.child.pid");
      const abort = new AbortController();
      const artifacts = new MemoryArtifacts();
      const capture = commandEngine.capture(
        source({
          capture: `sleep 600 & echo $! > '${childPid}'; echo $$ > '${shellPid}'; printf data; wait`,
        }),
        artifacts,
        withSignal(abort.signal),
      );
      const pids = [Number(await waitForFile(childPid)), Number(await waitForFile(shellPid))];
      assert.ok(pids.every(isRunning));
      const started = Date.now();
      abort.abort(new LifeboatError("INTERRUPTED", "interrupted by SIGTERM"));
      await assert.rejects(capture, (error) => isLifeboatError(error, "INTERRUPTED"));
      assert.ok(Date.now() - started < 4000, "stopped within seconds");
      for (let i = 0; i < 50 && pids.some(isRunning); i++) await sleep(20);
      assert.deepEqual(pids.filter(isRunning), [], "the shell and its background child are gone");
      assert.equal(artifacts.stored.size, 0);
    },
  );

  test("a command that outlives the timeout is killed with its group", { timeout: 20_000 }, async () => {
    const started = Date.now();
    await assert.rejects(
      commandEngine.capture(
        source({ capture: "printf x; sleep 30", timeout: "500ms" }),
        new MemoryArtifacts(),
        workdir.context,
      ),
      (error) => isLifeboatError(error, "SOURCE_TOOL_FAILED") && /timed out after 0.5s/.test(error.message),
    );
    assert.ok(Date.now() - started < 5000);
  });

  test("without a fingerprint command the snapshot's facts are the artifact's bytes, and a restore cannot be verified", async () => {
    const { source: withFacts } = await sqliteService("no-facts");
    const { fingerprint: _none, ...rest } = withFacts;
    const artifacts = new MemoryArtifacts();
    const result = await commandEngine.capture(rest, artifacts, workdir.context);
    const stored = artifacts.stored.get("capture.out")!;
    assert.deepEqual(result.fingerprint, {
      counts: { bytes: stored.length },
      hashes: { artifact: createHash("sha256").update(stored).digest("hex") },
    });
    const targetPath = join(workdir.base, "no-facts-restored.db");
    await commandEngine.restore(
      { artifacts, engineMeta: result.engineMeta },
      targetPath,
      {},
      during(result.engineMeta),
    );
    assert.match(sql(targetPath, "SELECT count(*) FROM items"), /^3/, "the restore command did run");
    await assert.rejects(
      commandEngine.fingerprint(targetPath, during(result.engineMeta)),
      (error) => isLifeboatError(error, "DRILL_ERROR") && /cannot be verified/.test(error.message),
    );
  });
});

describe("command engine: a damaged artifact never reaches the restore command", () => {
  for (const mode of ["stdout", "capture_dir"] as const) {
    test(`${mode}: the restore command never runs`, async () => {
      const marker = join(workdir.base, `restore-ran-${mode}`);
      const damaged = source({
        capture: mode === "stdout" ? "printf 'the artifact'" : `echo data > "$LIFEBOAT_CAPTURE_DIR/f"`,
        capture_dir: mode === "capture_dir",
        restore: `touch '${marker}'; cat > /dev/null`,
      });
      const artifacts = new MemoryArtifacts();
      const result = await commandEngine.capture(damaged, artifacts, workdir.context);
      const corrupt = new CorruptArtifacts();
      for (const [name, bytes] of artifacts.stored) await corrupt.write(name, Readable.from([bytes]));
      corrupt.corrupt = mode === "stdout" ? "capture.out" : "tree.tar";
      await assert.rejects(
        commandEngine.restore(
          { artifacts: corrupt, engineMeta: result.engineMeta },
          "anywhere",
          { force: true },
          during(result.engineMeta),
        ),
        (error) => isLifeboatError(error, "CHECKSUM_MISMATCH"),
      );
      assert.equal(existsSync(marker), false);
    });
  }
});

describe("command engine: environment and secrets", () => {
  const secret = `hunter2-${randomBytes(6).toString("hex")}`;
  process.env.LB_TEST_API_KEY = secret;
  process.env.LB_TEST_NOT_LISTED = "must-not-leak";

  test("an allow-listed secret reaches the command, never argv, engineMeta, fingerprint or messages; others stay hidden", async () => {
    const seen = join(workdir.base, "secret.seen");
    const envDump = join(workdir.base, "secret.env");
    const shellCmdline = join(workdir.base, "secret.cmdline");
    const captured = source({
      capture:
        `printf %s "$LB_TEST_API_KEY" > '${seen}'; env > '${envDump}'; ` +
        `tr '\\0' ' ' < /proc/$$/cmdline > '${shellCmdline}'; echo data`,
      fingerprint: `echo '{"points": 1}'`,
      env: ["LB_TEST_API_KEY"],
    });
    const result = await commandEngine.capture(captured, new MemoryArtifacts(), workdir.context);
    assert.equal(await readFile(seen, "utf8"), secret, "the command got the secret");
    const args = await readFile(shellCmdline, "utf8");
    assert.match(args, /^\/bin\/sh -c printf/, "the shell's own argv (setsid execs it in place)");
    assert.ok(!args.includes(secret), "the command line Lifeboat started holds no secret");
    const env = await readFile(envDump, "utf8");
    assert.match(env, /^LB_TEST_API_KEY=/m);
    assert.match(env, /^LIFEBOAT_ACTION=capture$/m);
    assert.ok(
      !env.includes("LB_TEST_NOT_LISTED") && !env.includes("must-not-leak"),
      "unlisted variables stay hidden",
    );
    assert.ok(!JSON.stringify(result.engineMeta).includes(secret));
    assert.ok(!JSON.stringify(result.fingerprint).includes(secret));

    const failing = source({
      capture: `echo "token is $LB_TEST_API_KEY" >&2; exit 2`,
      env: ["LB_TEST_API_KEY"],
    });
    await assert.rejects(
      commandEngine.capture(failing, new MemoryArtifacts(), workdir.context),
      (error) =>
        isLifeboatError(error) && !error.message.includes(secret) && /token is \*\*\*/.test(error.message),
    );
    const leakingFacts = source({
      capture: "echo data",
      fingerprint: `printf '{"key": "%s"}' "$LB_TEST_API_KEY"`,
      env: ["LB_TEST_API_KEY"],
    });
    await assert.rejects(
      commandEngine.capture(leakingFacts, new MemoryArtifacts(), workdir.context),
      (error) =>
        isLifeboatError(error, "SOURCE_TOOL_FAILED") &&
        /value of a secret/.test(error.message) &&
        !error.message.includes(secret),
    );
  });

  test("a command holding a secret's value itself is refused before it runs", async () => {
    const marker = join(workdir.base, "literal-secret.ran");
    await assert.rejects(
      commandEngine.capture(
        source({ capture: `touch '${marker}'; echo ${secret}`, env: ["LB_TEST_API_KEY"] }),
        new MemoryArtifacts(),
        workdir.context,
      ),
      (error) =>
        isLifeboatError(error, "BAD_CONFIG") && /capture command holds a credential/.test(error.message),
    );
    assert.equal(existsSync(marker), false);
  });

  test("a variable named in env but not set is BAD_CONFIG naming it", async () => {
    delete process.env.LB_TEST_UNSET;
    await assert.rejects(
      commandEngine.capture(
        source({ capture: "echo x", env: ["LB_TEST_UNSET"] }),
        new MemoryArtifacts(),
        workdir.context,
      ),
      (error) => isLifeboatError(error, "BAD_CONFIG") && /LB_TEST_UNSET/.test(error.message),
    );
  });

  test("the schema refuses Lifeboat's own variables and malformed names", () => {
    for (const name of ["LIFEBOAT_PASSWORD", "lifeboat_target", "1BAD", "A-B"]) {
      assert.equal(
        commandSourceSchema.safeParse({ engine: "command", capture: "x", restore: "y", env: [name] }).success,
        false,
        name,
      );
    }
  });
});

describe("command engine: facts", () => {
  test("both JSON shapes are read; anything else is an error naming what is wrong", async () => {
    assert.deepEqual(parseFacts('{"points": 3, "schema": "ab12"}', "f", "SOURCE_TOOL_FAILED"), {
      counts: { points: 3 },
      hashes: { schema: "ab12" },
    });
    assert.deepEqual(
      parseFacts('{"counts": {"points": 3}, "hashes": {"schema": "ab"}}', "f", "SOURCE_TOOL_FAILED"),
      {
        counts: { points: 3 },
        hashes: { schema: "ab" },
      },
    );
    const cases: [string, RegExp][] = [
      ["points: 3", /did not print JSON.*points: 3/s],
      ["[1, 2]", /printed an array, not a JSON object/],
      ['{"rows": [1]}', /printed an array for "rows"; a fact must be a number or a string/],
      ['{"nested": {"a": 1}, "b": 2}', /printed an object for "nested"/],
      ['{"counts": {"points": "3"}}', /printed a string for "points"; a fact must be a number/],
      ["{}", /printed no facts/],
      ['{"ok": true}', /printed a boolean for "ok"/],
    ];
    for (const [output, message] of cases) {
      assert.throws(
        () => parseFacts(output, "fingerprint command", "VERIFICATION_FAILED"),
        (error) => isLifeboatError(error, "VERIFICATION_FAILED") && message.test(error.message),
        output,
      );
    }
    // Through a capture: bad facts mean no snapshot.
    await assert.rejects(
      commandEngine.capture(
        source({ capture: "echo x", fingerprint: "echo '{\"rows\": [1]}'" }),
        new MemoryArtifacts(),
        workdir.context,
      ),
      (error) => isLifeboatError(error, "SOURCE_TOOL_FAILED") && /"rows"/.test(error.message),
    );
  });

  test("a restored target whose facts differ is visible to the comparison", async () => {
    const { source: service } = await sqliteService("drift");
    const artifacts = new MemoryArtifacts();
    const result = await commandEngine.capture(service, artifacts, workdir.context);
    const targetPath = join(workdir.base, "drift-restored.db");
    await commandEngine.restore(
      { artifacts, engineMeta: result.engineMeta },
      targetPath,
      {},
      during(result.engineMeta),
    );
    sql(targetPath, "DELETE FROM items WHERE id = 2");
    const restored = await commandEngine.fingerprint(targetPath, during(result.engineMeta));
    assert.deepEqual(
      compareFingerprints(result.fingerprint, restored).map((difference) => difference.key),
      ["rows:items", "names"],
    );
  });
});

describe("command engine: targets and guards", () => {
  test("identifyTarget: the source's target is 'same' (normalised), another is 'different', none is 'unknown'", async () => {
    const qdrant = source({ capture: "x", target: "qdrant:6333" });
    const verdict = async (config: CommandSourceConfig, target: string) =>
      (await commandEngine.identifyTarget(config, target, workdir.context)).verdict;
    assert.equal(await verdict(qdrant, "qdrant:6333"), "same");
    assert.equal(await verdict(qdrant, "http://QDRANT:6333/"), "same");
    assert.equal(await verdict(qdrant, "qdrant-restore:6333"), "different");
    assert.equal(await verdict(source({ capture: "x" }), "qdrant:6333"), "unknown");
  });

  test("restore refuses the source itself, a non-empty target without --force, and an unprobed target", async () => {
    const marker = join(workdir.base, "guard.ran");
    const { dbPath, source: service } = await sqliteService("guards", {
      restore: `touch '${marker}'; ${sqlite3} "$LIFEBOAT_TARGET"`,
    });
    const artifacts = new MemoryArtifacts();
    const result = await commandEngine.capture(service, artifacts, workdir.context);
    const input = { artifacts, engineMeta: result.engineMeta };
    await assert.rejects(
      commandEngine.restore(input, dbPath, { force: true }, during(result.engineMeta)),
      (error) => isLifeboatError(error, "TARGET_IS_SOURCE"),
    );
    const occupied = join(workdir.base, "guards-occupied.db");
    sql(occupied, "CREATE TABLE other (x);");
    await assert.rejects(
      commandEngine.restore(input, occupied, {}, during(result.engineMeta)),
      (error) => isLifeboatError(error, "TARGET_NOT_EMPTY") && /probe counts 1/.test(error.message),
    );
    assert.equal(existsSync(marker), false);
    await commandEngine.restore(input, occupied, { force: true }, during(result.engineMeta));
    assert.equal(existsSync(marker), true, "--force lets the restore command run");

    // The same snapshot, but the current config has no probe: nothing can say the target is empty.
    const { probe: _probe, ...unprobed } = service;
    const fresh = join(workdir.base, "guards-unprobed.db");
    const context = during(result.engineMeta, unprobed);
    const state = await commandEngine.inspectTarget(fresh, context);
    assert.equal(state.empty, false);
    assert.match(state.description, /no probe command/);
    await assert.rejects(commandEngine.restore(input, fresh, {}, context), (error) =>
      isLifeboatError(error, "TARGET_NOT_EMPTY"),
    );
  });

  test("the current config's restore command wins over the snapshot's recorded one", async () => {
    const newer = join(workdir.base, "newer.ran");
    const { source: service } = await sqliteService("recipe");
    const artifacts = new MemoryArtifacts();
    const result = await commandEngine.capture(service, artifacts, workdir.context);
    const fixed = { ...service, restore: `touch '${newer}'; ${sqlite3} "$LIFEBOAT_TARGET"` };
    const target = join(workdir.base, "recipe-restored.db");
    assert.equal(
      (await commandEngine.identifyTarget(fixed, target, workdir.context, result.engineMeta)).verdict,
      "different",
    );
    await commandEngine.restore(
      { artifacts, engineMeta: result.engineMeta },
      target,
      {},
      during(result.engineMeta, fixed),
    );
    assert.equal(existsSync(newer), true);
  });
});

describe("command engine: scratch targets", () => {
  test("scratch.create makes a target a drill restores into; scratch.destroy removes it", async () => {
    const { source: service } = await sqliteService("drill", {
      scratch: {
        create: `d=$(mktemp -d '${workdir.base}/scratch-XXXXXX') && echo "$d/db.sqlite"`,
        destroy: `rm -rf "$(dirname "$LIFEBOAT_TARGET")"`,
      },
    });
    const { probe: _probe, ...unprobed } = service;
    const artifacts = new MemoryArtifacts();
    const result = await commandEngine.capture(unprobed, artifacts, workdir.context);
    const scratch = await commandEngine.provisionScratch!(
      unprobed,
      { allowSourceServer: false, label: "drill_1" },
      workdir.context,
    );
    assert.match(scratch.target, /scratch-.{6}\/db\.sqlite$/);
    assert.equal(scratch.env.LIFEBOAT_TARGET, scratch.target);
    assert.equal((await commandEngine.inspectTarget(scratch.target, workdir.context)).empty, true);
    // No probe, no --force: a scratch target this process made is known to be fresh.
    await commandEngine.restore(
      { artifacts, engineMeta: result.engineMeta },
      scratch.target,
      {},
      during(result.engineMeta),
    );
    const restored = await commandEngine.fingerprint(scratch.target, during(result.engineMeta));
    assert.deepEqual(compareFingerprints(result.fingerprint, restored), []);
    await scratch.destroy();
    await scratch.destroy();
    assert.equal(existsSync(join(scratch.target, "..")), false);
  });

  test("a scratch.create that prints the source itself is refused and destroy is not run on it", async () => {
    const destroyed = join(workdir.base, "scratch-source.destroyed");
    const config = source({
      capture: "x",
      target: "qdrant:6333",
      scratch: { create: "echo QDRANT:6333", destroy: `touch '${destroyed}'` },
    });
    await assert.rejects(
      commandEngine.provisionScratch!(config, { allowSourceServer: true, label: "x" }, workdir.context),
      (error) => isLifeboatError(error, "SCRATCH_ON_SOURCE"),
    );
    assert.equal(existsSync(destroyed), false);
  });

  test("without scratch commands a drill is refused with a hint", async () => {
    await assert.rejects(
      commandEngine.provisionScratch!(
        source({ capture: "x" }),
        { allowSourceServer: false, label: "x" },
        workdir.context,
      ),
      (error) => isLifeboatError(error, "BAD_CONFIG") && /scratch: \{ create/.test(error.hint),
    );
  });
});
