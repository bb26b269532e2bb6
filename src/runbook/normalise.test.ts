import assert from "node:assert/strict";
import { test } from "node:test";
import { collapseSpaces, firstDifference, normaliseScript } from "./normalise.ts";

test("scripts compare trimmed per line, blank lines dropped", () => {
  const fence = "set -euo pipefail\nexport PGPASSWORD\n";
  const yamlBlock = "  set -euo pipefail  \n\n\t  export PGPASSWORD\r\n\n";
  assert.deepEqual(normaliseScript(fence), ["set -euo pipefail", "export PGPASSWORD"]);
  assert.deepEqual(normaliseScript(yamlBlock), normaliseScript(fence));
  assert.equal(firstDifference(normaliseScript(fence), normaliseScript(yamlBlock)), -1);
});

test("the first differing line, including a missing one", () => {
  assert.equal(firstDifference(["a", "b"], ["a", "c"]), 1);
  assert.equal(firstDifference(["a"], ["a", "b"]), 1);
  assert.equal(firstDifference([], []), -1);
});

test("inner whitespace is kept in scripts, collapsed for cron strings", () => {
  assert.deepEqual(normaliseScript("a  b"), ["a  b"]);
  assert.equal(collapseSpaces(" 0  2 *\t* * "), "0 2 * * *");
});
