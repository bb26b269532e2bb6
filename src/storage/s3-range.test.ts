// What a ranged GetObject reply must look like to be trusted (s3-range.ts).
// The replies a real store sends are covered end to end against s3rver in
// test/s3-backend.test.ts; these are the replies a broken store or proxy may send.

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseContentRange, rangedBytes, rangeHeader } from "./s3-range.ts";

const object = Uint8Array.from({ length: 100 }, (_, i) => i);
const part = (first: number, last: number) => object.slice(first, last + 1);

test("rangeHeader is HTTP's inclusive byte range", () => {
  assert.equal(rangeHeader({ offset: 0, length: 1 }), "bytes=0-0");
  assert.equal(rangeHeader({ offset: 10, length: 90 }), "bytes=10-99");
  assert.equal(rangeHeader({ offset: 2 ** 40, length: 2 }), `bytes=${2 ** 40}-${2 ** 40 + 1}`);
});

test("parseContentRange reads bytes first-last/size and refuses anything else", () => {
  assert.deepEqual(parseContentRange("bytes 0-9/100"), { first: 0, last: 9, size: 100 });
  assert.deepEqual(parseContentRange("bytes 5-5/*"), { first: 5, last: 5, size: undefined });
  for (const bad of ["bytes 9-0/100", "bytes 0-100/100", "bytes */100", "items 0-9/100", "bytes 0-9"]) {
    assert.equal(parseContentRange(bad), undefined, bad);
  }
});

test("a 206 with the asked bytes is the answer", () => {
  const bytes = part(10, 19);
  const reply = { status: 206, contentRange: "bytes 10-19/100", bytes };
  assert.equal(rangedBytes(reply, { offset: 10, length: 10 }), bytes);
});

test("a range past the end: the bytes that exist are the answer, as Content-Range says", () => {
  const reply = { status: 206, contentRange: "bytes 90-99/100", bytes: part(90, 99) };
  assert.deepEqual(rangedBytes(reply, { offset: 90, length: 50 }), part(90, 99));
  const unknownSize = { status: 206, contentRange: "bytes 90-99/*", bytes: part(90, 99) };
  assert.deepEqual(rangedBytes(unknownSize, { offset: 90, length: 50 }), part(90, 99));
});

test("a reply longer than asked is cut to the range, never passed through", () => {
  // s3rver answers bytes=0-0 with the whole object, labelled as such.
  const reply = { status: 206, contentRange: "bytes 0-99/100", bytes: object };
  assert.deepEqual(rangedBytes(reply, { offset: 0, length: 1 }), Uint8Array.from([0]));
});

test("a store that ignored Range (200, no Content-Range) sent the whole object: the range is cut from it", () => {
  const reply = { status: 200, contentRange: undefined, bytes: object };
  assert.deepEqual(rangedBytes(reply, { offset: 95, length: 10 }), part(95, 99));
  assert.deepEqual(rangedBytes(reply, { offset: 200, length: 10 }), new Uint8Array(0));
});

test("replies that cannot be the range are problems, not bytes", () => {
  const cases = [
    {
      why: /without Content-Range/,
      reply: { status: 206, contentRange: undefined, bytes: part(0, 9) },
    },
    { why: /unreadable Content-Range/, reply: { status: 206, contentRange: "bytes x", bytes: part(0, 9) } },
    {
      why: /starts at byte 0, not at 10/,
      reply: { status: 206, contentRange: "bytes 0-9/100", bytes: part(0, 9) },
    },
    {
      why: /received 5 bytes for Content-Range bytes 10-19\/100/,
      reply: { status: 206, contentRange: "bytes 10-19/100", bytes: part(10, 14) },
    },
    {
      why: /received 5 of the 10 bytes the range holds/,
      reply: { status: 206, contentRange: "bytes 10-14/100", bytes: part(10, 14) },
    },
  ];
  for (const { why, reply } of cases) {
    const result = rangedBytes(reply, { offset: 10, length: 10 });
    assert.ok(!(result instanceof Uint8Array), `${String(why)}: returned bytes`);
    assert.match(result.problem, why);
  }
});
