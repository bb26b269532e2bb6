import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { scratchDatabaseName } from "./scratch-name.ts";
import { partialName, partialPrefix } from "./target.ts";

describe("scratchDatabaseName", () => {
  it("prefixes and sanitises the label", () => {
    assert.equal(
      scratchDatabaseName("App-DB_20250101T120000Z-a1b2c3"),
      "lifeboat_drill_app_db_20250101t120000z_a1b2c3",
    );
    assert.equal(scratchDatabaseName("データ/x"), "lifeboat_drill_x");
    assert.equal(scratchDatabaseName("///"), "lifeboat_drill_scratch");
  });

  it("fits 63 bytes and keeps the unique tail of a long label", () => {
    const long = "a_very_long_source_name_that_goes_on_and_on_and_on";
    const first = scratchDatabaseName(`${long}_20250101T120000Z-a1b2c3`);
    const second = scratchDatabaseName(`${long}_20250101T120000Z-d4e5f6`);
    assert.equal(first.length, 63);
    assert.notEqual(first, second);
    assert.match(first, /^lifeboat_drill_a_very_long_.*_20250101t120000z_a1b2c3$/);
  });
});

describe("partialPrefix", () => {
  it("keeps two long names that share their first bytes apart", () => {
    const first = scratchDatabaseName("a_long_source_name_20250101T120000Z-a1b2c3");
    const second = scratchDatabaseName("a_long_source_name_20250101T120000Z-d4e5f6");
    assert.notEqual(partialPrefix(first), partialPrefix(second));
    assert.ok(!partialPrefix(first).startsWith(partialPrefix(second)));
    assert.ok(Buffer.byteLength(partialName(first)) <= 63);
    assert.ok(partialName(first).startsWith(partialPrefix(first)));
    assert.equal(partialPrefix("app"), "app_lifeboat_partial_");
  });
});
