import assert from "node:assert/strict";
import { test } from "node:test";
import { parseMarkerFields } from "./marker-syntax.ts";

const fields = (text: string) => {
  const parsed = parseMarkerFields(text);
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.problem);
  return Object.fromEntries(parsed.fields);
};

test("key=value pairs, quoted values with spaces, bare keys", () => {
  assert.deepEqual(
    fields("cronjob=timescaledb-pgdump manifest=deploy/k8s/base/timescaledb/statefulset.yaml"),
    {
      cronjob: "timescaledb-pgdump",
      manifest: "deploy/k8s/base/timescaledb/statefulset.yaml",
    },
  );
  assert.deepEqual(fields(' cli=lifeboat   command="runbook check" '), {
    cli: "lifeboat",
    command: "runbook check",
  });
  assert.deepEqual(fields("cli=x command='a b'"), { cli: "x", command: "a b" });
  assert.deepEqual(fields("objectives"), { objectives: true });
});

test("malformed markers say what is wrong", () => {
  const problem = (text: string) => {
    const parsed = parseMarkerFields(text);
    assert.ok(!parsed.ok, text);
    return parsed.problem;
  };
  assert.match(problem(""), /names no check/);
  assert.match(problem('command="runbook check'), /no closing "/);
  assert.match(problem("cli="), /has no value/);
  assert.match(problem("cli=a cli=b"), /given twice/);
  assert.match(problem('cli="a"b'), /after the closing/);
  assert.match(problem("=x"), /not a key/);
  assert.match(problem('cli=a"b'), /stray quote/);
});
