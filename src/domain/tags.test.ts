import assert from "node:assert/strict";
import { test } from "node:test";
import { isLifeboatError } from "../errors.ts";
import { changedTags, matchesTagFilter, parseTagFilter, refuseInternalTags, validTags } from "./tags.ts";

test("a --tag value is a set that must all match; repeated values are alternatives", () => {
  const filter = parseTagFilter(["a,b", "c"]);
  assert.deepEqual(filter, [["a", "b"], ["c"]]);
  assert.equal(matchesTagFilter(["a", "b", "x"], filter), true);
  assert.equal(matchesTagFilter(["a"], filter), false);
  assert.equal(matchesTagFilter(["c"], filter), true);
  assert.equal(matchesTagFilter([], filter), false);
  assert.equal(matchesTagFilter([], []), true, "no filter matches everything");
  assert.equal(matchesTagFilter(["b", "a"], parseTagFilter(["a,b"])), true, "order does not matter");
});

test("an empty tag in a filter list is refused", () => {
  for (const value of ["", "a,", ",a", "a,,b"]) {
    assert.throws(
      () => parseTagFilter([value]),
      (error) => isLifeboatError(error, "BAD_ARGUMENT"),
      value,
    );
  }
});

test("changed tags are sorted and unique; removing an absent tag is no change", () => {
  assert.deepEqual(changedTags(["b"], { add: ["a", "b", "a"] }), ["a", "b"]);
  assert.deepEqual(changedTags(["a", "b"], { remove: ["a", "zz"] }), ["b"]);
  assert.deepEqual(changedTags([], {}), []);
});

test("tags are plain words, and Lifeboat's own prefixes are not the user's", () => {
  assert.deepEqual(validTags(["pin", "v1.2", "team@ops/x+y"]), ["pin", "v1.2", "team@ops/x+y"]);
  for (const bad of ["", "two words", "a,b", "-x", "x".repeat(65)])
    assert.throws(
      () => validTags([bad], "tag add"),
      (error) => isLifeboatError(error, "BAD_ARGUMENT"),
    );
  for (const internal of ["bundle:abc", "group:platform"])
    assert.throws(
      () => refuseInternalTags([internal], "tag add"),
      (error) => isLifeboatError(error, "BAD_ARGUMENT"),
    );
  refuseInternalTags(["bundles", "groupie", "x:bundle:"], "tag add");
});
