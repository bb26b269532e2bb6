import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadInSessions } from "./parallel-load.ts";

// A real mariadb-dump (10.11) of two tables (one with a secondary key, one with a foreign key),
// a view, a trigger, a procedure and an event.
const dumpPath = fileURLToPath(new URL("../../../test/fixtures/mariadb/small-dump.sql", import.meta.url));

async function text(stream: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

/** The dump cut into chunks of `size` bytes, so markers fall across chunk boundaries. */
async function* chunks(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

describe("loading a dump in several sessions", () => {
  let dir: string;
  let dump: Buffer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "lifeboat-parallel-load-"));
    dump = await readFile(dumpPath);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const size of [7, 4096, 1 << 20]) {
    it(`cuts tables, view placeholders and the tail apart (chunks of ${size} bytes)`, async () => {
      const sessions: string[] = [];
      const summary = await loadInSessions({
        source: chunks(dump, size),
        tempDir: dir,
        jobs: 2,
        stagedLimit: 1 << 20,
        runSession: async (stdin) => {
          sessions.push(await text(stdin));
        },
      });
      assert.equal(summary.sections, 3);
      const header = dump.toString("utf8").slice(0, dump.indexOf("-- Table structure for table `a`"));
      for (const session of sessions) assert.ok(session.startsWith(header), session.slice(0, 200));
      const [a, b, view] = sessions
        .slice(0, 3)
        .sort((x, y) => x.length - y.length)
        .reverse();
      const table = sessions.find((session) => session.includes("CREATE TABLE `a`"))!;
      // The secondary key is built after the rows, by the session that loaded them.
      assert.doesNotMatch(
        table.slice(table.indexOf("CREATE TABLE `a`"), table.indexOf(") ENGINE")),
        /KEY `kv`/,
      );
      assert.match(table, /INSERT INTO `a` VALUES[\s\S]*ALTER TABLE `a` ADD KEY `kv` \(`v`\);\n$/);
      assert.match(table, /TRIGGER ta BEFORE INSERT ON a/);
      // A foreign key keeps its table as dumped.
      const fk = sessions.find((session) => session.includes("CREATE TABLE `b`"))!;
      assert.match(fk, /CONSTRAINT `fk` FOREIGN KEY/);
      assert.ok([a, b, view].some((session) => session?.includes("Temporary table structure for view `va`")));
      // The tail comes last, alone: events, routines, the final view, the footer.
      const tail = sessions.at(-1)!;
      assert.equal(sessions.length, 4);
      for (const part of ["Dumping events", "Dumping routines", "Final view structure", "-- Dump completed"])
        assert.ok(tail.includes(part), part);
      assert.ok(!tail.includes("CREATE TABLE"));
      // Every byte of the dump reaches exactly one session, apart from the header and the moved keys.
      const bodies = sessions.map((session) => session.slice(header.length)).join("");
      const strip = (sql: string) =>
        sql
          .replace(/\s+/g, "")
          .replace(/ALTERTABLE`a`ADDKEY`kv`\(`v`\);/, "")
          .replace(/KEY`kv`\(`v`\)/, "")
          .replace(/,\)/g, ")");
      assert.equal(strip(bodies).length, strip(dump.toString("utf8").slice(header.length)).length);
      assert.deepEqual(await readdir(dir), []);
    });
  }

  it("stops every session at the first failure and removes what it staged", async () => {
    let started = 0;
    await assert.rejects(
      loadInSessions({
        source: chunks(dump, 64),
        tempDir: dir,
        jobs: 2,
        stagedLimit: 1 << 20,
        runSession: async (stdin, signal) => {
          // Which session this is, taken before the await: the count may have moved on by then.
          const session = ++started;
          await text(stdin);
          if (session === 1) throw new Error("ERROR 1062 (23000) at line 40: Duplicate entry");
          await new Promise((resolve) => setTimeout(resolve, 50));
          signal.throwIfAborted();
        },
      }),
      /Duplicate entry/,
    );
    assert.deepEqual(await readdir(dir), []);
  });

  it("a stream that fails mid-dump fails the load; the tail never runs", async () => {
    const sessions: string[] = [];
    async function* broken(): AsyncGenerator<Buffer> {
      yield dump.subarray(0, 2000);
      throw new Error("CHECKSUM_MISMATCH in chunk 3");
    }
    await assert.rejects(
      loadInSessions({
        source: broken(),
        tempDir: dir,
        jobs: 2,
        stagedLimit: 1 << 20,
        runSession: async (stdin) => {
          sessions.push(await text(stdin));
        },
      }),
      /CHECKSUM_MISMATCH/,
    );
    assert.ok(sessions.every((session) => !session.includes("Dump completed")));
    assert.deepEqual(await readdir(dir), []);
  });
});
