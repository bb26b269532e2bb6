import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLifeboatError } from "../errors.ts";
import { findRegions, mergeRegions, renderDocument, renderRegion, type Region } from "./regions.ts";

const a: Region = { id: "a", body: "## A\n\nfirst" };
const b: Region = { id: "b", body: "## B\n\nsecond" };
const c: Region = { id: "restore:c", body: "## C\n\nthird" };
const file = "RUNBOOK.md";

describe("runbook regions", () => {
  it("a new document holds the regions and the hand-written parts in order", () => {
    const text = renderDocument([a, { handWritten: "## Mine\n\nprose" }, b]);
    assert.deepEqual(
      findRegions(text, file).map((region) => [region.id, region.body, region.line]),
      [
        ["a", a.body, 1],
        ["b", b.body, 11],
      ],
    );
    assert.match(text, /\n\n## Mine\n\nprose\n\n<!-- lifeboat:begin b /);
  });

  it("re-rendering keeps every byte outside the regions and replaces the regions", () => {
    const original = renderDocument([a, { handWritten: "## Mine\n\nprose" }, b]);
    const edited = `${original}\n## Appendix written later\n\nmore prose\n`;
    const next = mergeRegions(edited, [{ id: "a", body: "## A\n\nchanged" }, b], { file, force: false });
    assert.deepEqual(next.updated, ["a"]);
    assert.deepEqual(next.unchanged, ["b"]);
    assert.match(next.text, /## A\n\nchanged\n<!-- lifeboat:end a -->/);
    assert.ok(next.text.includes("## Mine\n\nprose"));
    assert.ok(next.text.endsWith("## Appendix written later\n\nmore prose\n"));
    // Rendering the same thing again changes nothing at all.
    assert.equal(
      mergeRegions(next.text, [{ id: "a", body: "## A\n\nchanged" }, b], { file, force: false }).text,
      next.text,
    );
  });

  it("a new region goes after the one rendered before it; a region no longer rendered goes", () => {
    const original = renderDocument([a, { handWritten: "mine" }, b]);
    const next = mergeRegions(original, [a, c], { file, force: false });
    assert.deepEqual(next.added, ["restore:c"]);
    assert.deepEqual(next.removed, ["b"]);
    assert.deepEqual(
      findRegions(next.text, file).map((region) => region.id),
      ["a", "restore:c"],
    );
    assert.ok(next.text.indexOf("restore:c") < next.text.indexOf("mine"));
    assert.doesNotMatch(next.text, /second/);
  });

  it("a region edited by hand is not overwritten without force, and is named with its line", () => {
    const original = renderDocument([{ handWritten: "intro" }, a, b]);
    const edited = original.replace("second", "second, plus a note someone typed");
    assert.throws(
      () => mergeRegions(edited, [a, { id: "b", body: "## B\n\nnew" }], { file, force: false }),
      (error) => {
        assert.ok(isLifeboatError(error, "BAD_ARGUMENT"));
        assert.match(error.message, /RUNBOOK\.md:9: region b was edited by hand/);
        assert.match(error.hint, /outside the lifeboat:begin\/end markers/);
        return true;
      },
    );
    const forced = mergeRegions(edited, [a, { id: "b", body: "## B\n\nnew" }], { file, force: true });
    assert.deepEqual(forced.overwritten, ["b"]);
    assert.doesNotMatch(forced.text, /someone typed/);
    // Removing a source whose region was edited by hand is refused the same way.
    assert.throws(() => mergeRegions(edited, [a], { file, force: false }), /region b was edited by hand/);
  });

  it("a broken or doubled marker is a clear error, never a silent rewrite", () => {
    const unterminated = renderRegion(a).replace("<!-- lifeboat:end a -->", "");
    assert.throws(
      () => findRegions(unterminated, file),
      /RUNBOOK\.md:1: the generated region a has no end marker/,
    );
    const twice = `${renderRegion(a)}\n\n${renderRegion(a)}\n`;
    assert.throws(() => findRegions(twice, file), /region a appears twice/);
  });
});
