// The ARCHITECTURE.md faults as they apply to the WAL archive and to
// point-in-time restores: a flipped byte and a truncated WAL object are
// named errors (and check names them), a wrong password is its own error,
// and SIGTERM during a restore stops it leaving nothing at the target.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { access, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { cliPath } from "./support/cli.ts";
import { startPitrSetup, type PitrSetup } from "./support/pitr.ts";

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe("PITR faults", () => {
  let setup: PitrSetup;
  let folder = "";
  let segments: string[] = [];

  before(async () => {
    setup = await startPitrSetup();
    const backup = await setup.ws.cli(["backup", "app-db"]);
    assert.equal(backup.code, 0, backup.stderr);
    for (let round = 0; round < 3; round++) {
      await setup.marker(`fault-${round}`);
      await setup.switchAndWait();
    }
    const systemId = await setup.cluster.psql("SELECT system_identifier FROM pg_control_system()");
    folder = join(setup.ws.dir, "repo", "wal", "app-db", systemId);
    segments = (await readdir(folder)).filter((name) => /^[0-9A-F]{24}$/.test(name)).sort();
  });

  after(async () => setup?.stop());

  it("SIGTERM during a restore stops it within seconds and leaves nothing at the target", async () => {
    const dir = join(setup.ws.dir, "interrupted");
    const child = spawn(
      process.execPath,
      [
        cliPath,
        "-c",
        setup.ws.configFile,
        "restore",
        "app-db",
        "--to",
        dir,
        "--latest",
        "--start",
        "--port",
        "1",
      ],
      { env: { ...process.env, ...setup.ws.env }, stdio: "ignore" },
    );
    const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    // Interrupt while the base backup is being laid down beside the target.
    const partial = () =>
      readdir(setup.ws.dir).then((names) =>
        names.some((name) => name.startsWith(".interrupted.lifeboat-partial")),
      );
    const deadline = Date.now() + 20_000;
    while (!(await partial())) {
      assert.ok(Date.now() < deadline, "the restore never started laying down");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const sent = Date.now();
    child.kill("SIGTERM");
    const code = await closed;
    assert.ok(Date.now() - sent < 20_000, "stopped within the grace period");
    assert.equal(code, 130);
    assert.equal(await exists(dir), false, "no data directory that could pass for a restored one");
    const leftovers = (await readdir(setup.ws.dir)).filter((name) =>
      name.startsWith(".interrupted.lifeboat-partial"),
    );
    assert.deepEqual(leftovers, []);
  });

  it("a flipped byte in a WAL object is a named checksum error in wal-fetch and in check", async () => {
    const name = segments[1]!;
    const path = join(folder, name);
    const original = await readFile(path);
    const damaged = Buffer.from(original);
    damaged[Math.floor(damaged.length / 2)] = damaged[Math.floor(damaged.length / 2)]! ^ 0x01;
    await writeFile(path, damaged);
    try {
      const fetched = await setup.ws.cli(["wal-fetch", "app-db", name, join(setup.ws.dir, "out"), "--json"]);
      assert.equal(fetched.code, 4, fetched.stderr);
      assert.equal(fetched.json.error.code, "CHECKSUM_MISMATCH");
      assert.match(fetched.json.error.message, new RegExp(name));
      assert.equal(await exists(join(setup.ws.dir, "out")), false, "nothing half-written at %p");
      const check = await setup.ws.cli(["check", "--read-data", "--json"]);
      assert.equal(check.code, 4);
      const problem = check.json.problems.find((entry: { object: string }) => entry.object.endsWith(name));
      assert.equal(problem?.code, "CHECKSUM_MISMATCH", check.stdout);
    } finally {
      await writeFile(path, original);
    }
  });

  it("a truncated WAL object is its own error, not a checksum mismatch", async () => {
    const name = segments[2]!;
    const path = join(folder, name);
    const original = await readFile(path);
    await writeFile(path, original.subarray(0, Math.floor(original.length / 3)));
    try {
      const fetched = await setup.ws.cli(["wal-fetch", "app-db", name, join(setup.ws.dir, "out2"), "--json"]);
      assert.equal(fetched.code, 4);
      assert.equal(fetched.json.error.code, "OBJECT_TRUNCATED");
    } finally {
      await writeFile(path, original);
    }
  });

  it("wal-push of a path that does not exist is BAD_ARGUMENT (exit 2) naming it, not an internal error", async () => {
    const missing = join(setup.ws.dir, "pg_wal", "0000000100000000000000FE");
    const pushed = await setup.ws.cli(["wal-push", "app-db", missing, "--json"]);
    assert.equal(pushed.code, 2, pushed.stderr);
    assert.equal(pushed.json.error.code, "BAD_ARGUMENT");
    assert.match(pushed.json.error.message, /0000000100000000000000FE/);
    assert.doesNotMatch(pushed.stderr + pushed.stdout, /bug in Lifeboat/);
  });

  it("a wrong password is WRONG_PASSWORD for wal-push and wal-fetch", async () => {
    const passwordFile = join(setup.ws.dir, "password");
    const right = await readFile(passwordFile, "utf8");
    await writeFile(passwordFile, "not the password\n");
    try {
      const fetched = await setup.ws.cli(["wal-fetch", "app-db", segments[0]!, join(setup.ws.dir, "out3")]);
      assert.equal(fetched.code, 12, fetched.stderr);
      const copy = join(setup.ws.dir, segments[0]!);
      await writeFile(
        copy,
        await readFile(
          join(
            setup.cluster.dataDir,
            "pg_wal",
            (await readdir(join(setup.cluster.dataDir, "pg_wal"))).find((entry) =>
              /^[0-9A-F]{24}$/.test(entry),
            )!,
          ),
        ),
      );
      const pushed = await setup.ws.cli(["wal-push", "app-db", copy]);
      assert.equal(pushed.code, 12, pushed.stderr);
    } finally {
      await writeFile(passwordFile, right);
    }
  });
});
