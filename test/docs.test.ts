// The generated documents must match the code they describe.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { renderConfigJsonSchema, renderErrorTable } from "../scripts/docs-render.ts";

test("docs/config.schema.json is up to date (run `npm run docs`)", async () => {
  assert.equal(
    await readFile(new URL("../docs/config.schema.json", import.meta.url), "utf8"),
    renderConfigJsonSchema(),
  );
});

test("docs/errors.md is up to date (run `npm run docs`)", async () => {
  assert.equal(await readFile(new URL("../docs/errors.md", import.meta.url), "utf8"), renderErrorTable());
});
