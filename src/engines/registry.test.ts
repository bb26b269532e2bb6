import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { isLifeboatError } from "../errors.ts";
import { sourceSchema } from "./config.ts";
import { engineFor, engineNames, engines } from "./registry.ts";

test("an engine name this build lacks (a newer Lifeboat's manifest) is UNKNOWN_ENGINE, naming the known ones", () => {
  assert.throws(
    () => engineFor("oracle"),
    (error) => isLifeboatError(error, "UNKNOWN_ENGINE") && /postgres, sqlite, files/.test(error.hint),
  );
});

test("each definition is consistent: its schema's engine is its name, capabilities match what it implements", () => {
  assert.deepEqual(engineNames, ["postgres", "sqlite", "files", "redis", "mariadb", "nats", "command"]);
  for (const engine of engines) {
    assert.equal(engineFor(engine.name), engine);
    const parsed = sourceSchema.safeParse({ engine: engine.name });
    // Required fields are missing, but the union picked this engine's schema (no "engine must be" error).
    assert.ok(
      !parsed.success && parsed.error.issues.every((issue) => issue.path[0] !== "engine"),
      engine.name,
    );
    assert.equal(
      engine.capabilities.sqlChecks,
      engine.queryScalar !== undefined,
      `${engine.name}: sqlChecks`,
    );
    assert.equal(
      engine.capabilities.commandChecks === true,
      engine.runCheckCommand !== undefined,
      `${engine.name}: commandChecks`,
    );
    assert.equal(
      engine.capabilities.scratch.length > 0,
      engine.provisionScratch !== undefined,
      `${engine.name}: scratch`,
    );
    assert.equal(engine.capabilities.pitr, engine.pitr !== undefined, `${engine.name}: pitr`);
    assert.ok(
      engine.capabilities.atomicSwap || engine.restoreGuarantee,
      `${engine.name}: says what restore guarantees`,
    );
    assert.ok(
      engine.restoreFlags.some((flag) => flag.replacesTarget),
      `${engine.name}: can replace a target`,
    );
  }
});

test("the restore command offers every engine's restore flags", () => {
  const main = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
  const help = spawnSync(process.execPath, [main, "restore", "--help"], { encoding: "utf8" });
  assert.equal(help.status, 0, help.stderr);
  for (const flag of new Set(engines.flatMap((engine) => engine.restoreFlags.map((f) => f.name)))) {
    assert.match(help.stdout, new RegExp(`--${flag}\\b`), flag);
  }
});
