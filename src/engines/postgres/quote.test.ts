import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { quoteIdent, quoteLiteral } from "./quote.ts";

const samples = [
  "plain",
  "",
  'with "quotes"',
  "it's",
  "back\\slash",
  "both ' and \\",
  "ünïcode ✓",
  "x\"\\'y",
];

test("quoting matches node-postgres's escapeIdentifier and escapeLiteral", () => {
  for (const sample of samples) {
    assert.equal(quoteIdent(sample), pg.escapeIdentifier(sample), sample);
    assert.equal(quoteLiteral(sample), pg.escapeLiteral(sample), sample);
  }
});
