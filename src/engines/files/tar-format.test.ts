// The tar bytes Lifeboat writes and reads: pax record lengths at digit
// boundaries, numbers too big for octal, damaged headers, raw names, and
// sparse maps, each written and read back through the real reader.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Readable } from "node:stream";
import { isLifeboatError } from "../../errors.ts";
import { encodeEntryHeader, endOfArchive, type EntryHeader } from "./archive-entry.ts";
import { readArchive, type ReadEntry } from "./archive-reader.ts";
import { decodeSparseMap, encodeSparseMap } from "./sparse.ts";
import { decodeUstar, encodePaxRecords, encodeUstar, paddingFor, parsePaxRecords } from "./tar-header.ts";

async function readBack(...parts: Buffer[]): Promise<Omit<ReadEntry, "data">[]> {
  const entries: Omit<ReadEntry, "data">[] = [];
  for await (const { data, ...entry } of readArchive(
    Readable.from([Buffer.concat([...parts, endOfArchive])]),
  )) {
    for await (const _ of data);
    entries.push(entry);
  }
  return entries;
}

const entry = (fields: Partial<EntryHeader>): EntryHeader => ({
  path: Buffer.from("a.txt"),
  type: "file",
  mode: 0o644,
  uid: 1000,
  gid: 1000,
  mtime: 1_700_000_000,
  size: 0,
  ...fields,
});

describe("pax records", () => {
  test("a record's length counts its own digits, also where they roll over", () => {
    // Value lengths chosen so records are 8/9/10 and 98/99/100/101 bytes long.
    for (const valueLength of [0, 1, 2, 3, 85, 86, 87, 88, 89, 990, 991, 992]) {
      const value = Buffer.alloc(valueLength, "x");
      const body = encodePaxRecords([["k", value]]);
      assert.equal(Number(body.toString("latin1").split(" ")[0]), body.length, `value of ${valueLength}`);
      assert.deepEqual(parsePaxRecords(body, 0).get("k"), value);
    }
  });

  test("values are raw bytes, may hold '=' and newlines, and later records win", () => {
    const raw = Buffer.from([0x66, 0xff, 0x0a, 0x3d, 0x80]);
    const body = encodePaxRecords([
      ["path", Buffer.from("first")],
      ["path", raw],
    ]);
    assert.deepEqual(parsePaxRecords(body, 0).get("path"), raw);
  });

  test("a record whose length lies is refused as damage", () => {
    assert.throws(
      () => parsePaxRecords(Buffer.from("99 path=x\n"), 512),
      (error) => isLifeboatError(error, "VERIFICATION_FAILED") && /byte 512/.test(error.message),
    );
  });
});

describe("ustar blocks", () => {
  test("numbers beyond octal fields are base-256, and read back exactly", () => {
    const block = encodeUstar({
      name: Buffer.from("big"),
      typeflag: "0",
      mode: 0o4755,
      uid: 3_000_000, // more than 7 octal digits
      gid: 0,
      size: 20 * 1024 ** 3, // more than 11 octal digits
      mtime: 1_700_000_000,
      linkname: Buffer.alloc(0),
    });
    const decoded = decodeUstar(block, 0);
    assert.deepEqual([decoded.uid, decoded.size, decoded.mode], [3_000_000, 20 * 1024 ** 3, 0o4755]);
  });

  test("a negative base-256 mtime (before 1970) reads as negative", () => {
    const block = encodeUstar({
      ...entry({}),
      name: Buffer.from("old"),
      typeflag: "0",
      linkname: Buffer.alloc(0),
    });
    block.fill(0xff, 136, 147); // two's complement -1 ...
    block[147] = 0xfe; // ... -2
    block.write("        ", 148, "ascii");
    let sum = 0;
    for (const byte of block) sum += byte;
    block.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "ascii");
    assert.equal(decodeUstar(block, 0).mtime, -2);
  });

  test("one flipped byte in a header is a checksum mismatch naming its offset", () => {
    const block = encodeEntryHeader(entry({}));
    block[3] = block[3]! ^ 0x01;
    assert.throws(
      () => decodeUstar(block, 4096),
      (error) => isLifeboatError(error, "VERIFICATION_FAILED") && /byte 4096.*checksum/.test(error.message),
    );
  });
});

describe("entries written and read back", () => {
  test("a short ASCII name is one ustar block; raw, long and big ones get the pax records they need", async () => {
    assert.equal(encodeEntryHeader(entry({})).length, 512);
    const raw = Buffer.concat([Buffer.from("dir/caf"), Buffer.from([0xe9]), Buffer.from(".txt")]);
    const rawHeader = encodeEntryHeader(entry({ path: raw }));
    assert.ok(rawHeader.includes("hdrcharset=BINARY"));
    const long = Buffer.from(`${"x".repeat(200)}/é`);
    const target = Buffer.from([0x2e, 0x2e, 0x2f, 0xff]);
    const [first, second, third] = await readBack(
      rawHeader,
      encodeEntryHeader(entry({ path: long, type: "dir" })),
      encodeEntryHeader(entry({ path: Buffer.from("l"), type: "symlink", linkpath: target })),
    );
    assert.deepEqual(first!.path, raw);
    assert.deepEqual([second!.path.toString(), second!.type], [`${long}/`, "dir"]);
    assert.deepEqual([third!.type, third!.linkpath], ["symlink", target]);
    assert.equal(first!.uid, 1000);
    assert.equal(first!.mtime, 1_700_000_000);
  });

  test("a sparse entry carries its map and real size, and its data yields only the segments", async () => {
    const segments = [
      { offset: 4096, length: 4 },
      { offset: 10 * 1024 ** 3, length: 0 },
    ];
    const map = encodeSparseMap(segments);
    const header = encodeEntryHeader(
      entry({ path: Buffer.from("disk.img"), size: map.length + 4, sparseRealSize: 10 * 1024 ** 3 }),
    );
    assert.ok(header.includes("GNU.sparse.major=1") && header.includes("GNUSparseFile.0/disk.img"));
    const archive = Buffer.concat([
      header,
      map,
      Buffer.from("data"),
      Buffer.alloc(paddingFor(map.length + 4)),
      endOfArchive,
    ]);
    const read: Buffer[] = [];
    for await (const item of readArchive(Readable.from([archive]))) {
      assert.deepEqual(
        [item.path.toString(), item.size, item.segments],
        ["disk.img", 10 * 1024 ** 3, segments],
      );
      for await (const part of item.data) read.push(part);
    }
    assert.equal(Buffer.concat(read).toString(), "data");
  });

  test("an archive cut short is refused, not read as complete", async () => {
    const header = encodeEntryHeader(entry({ size: 1000 }));
    await assert.rejects(
      readBack(header, Buffer.alloc(100)).then(() => undefined),
      (error) => isLifeboatError(error, "VERIFICATION_FAILED"),
    );
    await assert.rejects(
      (async () => {
        for await (const _ of readArchive(Readable.from([encodeEntryHeader(entry({}))])));
      })(),
      (error) => isLifeboatError(error, "VERIFICATION_FAILED") && /end-of-archive/.test(error.message),
    );
  });
});

describe("sparse maps", () => {
  test("an incomplete map asks for more; a malformed or disordered one is refused", () => {
    assert.equal(decodeSparseMap(Buffer.from("2\n0\n40"), 100), undefined);
    assert.deepEqual(decodeSparseMap(Buffer.from("1\n0\n4\n"), 100)?.segments, [{ offset: 0, length: 4 }]);
    assert.throws(() => decodeSparseMap(Buffer.from("2\n50\n10\n40\n5\n"), 100), /out of order/);
    assert.throws(() => decodeSparseMap(Buffer.from("1\n95\n10\n"), 100), /out of order/);
    assert.throws(() => decodeSparseMap(Buffer.from("1\nx\n"), 100), /sparse map/);
  });
});
