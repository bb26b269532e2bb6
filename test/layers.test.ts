// The layer boundaries of ARCHITECTURE.md are lint rules (eslint.config.js).
// These tests keep the rules complete: every folder of src/ is in a tier, and
// an import against the direction of the layers fails lint.

import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";

const root = fileURLToPath(new URL("..", import.meta.url));
const { layers } = (await import(new URL("../eslint.config.js", import.meta.url).href)) as {
  layers: string[][];
};

test("every folder of src/ sits in a lint layer tier", async () => {
  const folders = (await readdir(new URL("../src/", import.meta.url), { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
  const tiered = new Set(layers.flat());
  assert.deepEqual(
    folders.filter((folder) => !tiered.has(folder)),
    [],
  );
});

test("imports against the layers fail lint; imports along them pass", async () => {
  const eslint = new ESLint({ cwd: root });
  const lint = async (file: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: `${root}/${file}` });
    return result!.messages.filter((message) => message.ruleId === "no-restricted-imports").length;
  };
  const cases: [string, string, boolean][] = [
    ["src/engines/postgres/x.ts", `import "../../operations/backup.ts";`, false],
    ["src/engines/x.ts", `import "../storage/backend.ts";`, false],
    ["src/operations/x.ts", `import "../notify/send.ts";`, false],
    ["src/notify/x.ts", `import "../demo/sample-data.ts";`, false],
    ["src/config/x.ts", `import "../engines/registry.ts";`, false],
    ["src/domain/x.ts", `import "../runtime/logger.ts";`, false],
    ["src/errors.ts", `import "./domain/snapshot.ts";`, false],
    ["src/drill/x.ts", `import "../report/trend.ts";`, false],
    ["src/operations/x.ts", `import "../engines/registry.ts";`, true],
    ["src/report/x.ts", `import "../domain/drill-report.ts";`, true],
    ["src/cli/x.ts", `import "../drill/run.ts";`, true],
  ];
  for (const [file, code, allowed] of cases) {
    assert.equal((await lint(file, code)) === 0, allowed, `${file}: ${code}`);
  }
});
