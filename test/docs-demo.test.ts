// docs/cli-json.md describes `demo --json`; the real document must have exactly the fields listed.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

test("demo --json has the fields docs/cli-json.md lists", async () => {
  const doc = await readFile(new URL("../docs/cli-json.md", import.meta.url), "utf8");
  const section = doc.slice(doc.indexOf("## `demo`"));
  const line = section.split("\n").find((text) => text.startsWith('`{ "directory"'));
  assert.ok(line, "the demo section documents its JSON");
  const top = [...line.matchAll(/"(\w+)":/g)].map((match) => match[1]);
  const perSource = [...line.slice(line.indexOf("[ {")).matchAll(/"(\w+)"(?=[,\s}])/g)].map(
    (match) => match[1],
  );

  const run = spawnSync(process.execPath, [main, "demo", "--json"], { encoding: "utf8", timeout: 120_000 });
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { sources: Record<string, unknown>[] } & Record<string, unknown>;
  assert.deepEqual(Object.keys(result).sort(), [...top].sort());
  for (const source of result.sources) assert.deepEqual(Object.keys(source).sort(), [...perSource].sort());
});
