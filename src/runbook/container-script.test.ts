import assert from "node:assert/strict";
import { test } from "node:test";
import { containerScript } from "./container-script.ts";

test("a shell's -c script, wherever command and args split it", () => {
  assert.equal(
    containerScript({ command: ["/bin/bash", "-c"], args: ["set -e\necho hi\n"] }),
    "set -e\necho hi\n",
  );
  assert.equal(containerScript({ command: ["sh", "-c", "echo hi", "name", "arg"] }), "echo hi");
  assert.equal(containerScript({ command: ["bash"], args: ["-euc", "echo hi"] }), "echo hi");
});

test("otherwise command and args joined, as a runbook writes the invocation", () => {
  assert.equal(
    containerScript({ command: ["python", "-m", "ops.backup.restore_drill"] }),
    "python -m ops.backup.restore_drill",
  );
  assert.equal(containerScript({ command: ["python"], args: ["-m", "x", "--flag"] }), "python -m x --flag");
  assert.equal(containerScript({ args: "echo hi" }), "echo hi");
  assert.equal(containerScript({}), "");
});
