import assert from "node:assert/strict";
import { test } from "node:test";
import { isLifeboatError } from "../errors.ts";
import { parseConfig } from "./load.ts";

function problemsOf(yaml: string): { path: string; message: string }[] {
  try {
    parseConfig(yaml, "/etc/lifeboat/lifeboat.yaml");
  } catch (error) {
    assert.ok(isLifeboatError(error, "BAD_CONFIG"), String(error));
    return error.details.problems as { path: string; message: string }[];
  }
  assert.fail("expected BAD_CONFIG");
}

test("the issue's example config parses, with relative paths resolved against the file", () => {
  const config = parseConfig(
    `repository:
  url: file:///var/backups/lifeboat
  password_env: LIFEBOAT_PASSWORD
sources:
  app-db:
    engine: postgres
    url: postgres://app@127.0.0.1:5432/app
  app-sqlite:
    engine: sqlite
    path: data/app.db
  uploads:
    engine: files
    path: /var/app/uploads
`,
    "/etc/lifeboat/lifeboat.yaml",
  );
  assert.deepEqual(config.sources["app-sqlite"], { engine: "sqlite", path: "/etc/lifeboat/data/app.db" });
  assert.deepEqual(config.sources["app-db"], {
    engine: "postgres",
    url: "postgres://app@127.0.0.1:5432/app",
    globals: false,
    jobs: 2,
  });
});

test("every invalid field is reported at once, each with its path", () => {
  const problems = problemsOf(`repository: { url: "s3://bucket" }
sources:
  a: { engine: postgres, url: "mysql://x", jobs: 0, extra: 1 }
  b: { engine: sqlite }
  c: { engine: oracle, path: x }
  d: { engine: files, path: up, objectives: { rto: "15 minutes" } }
`);
  const paths = problems.map((problem) => problem.path);
  assert.deepEqual(paths.sort(), [
    "repository.password_env",
    "repository.url",
    "sources.a",
    "sources.a.jobs",
    "sources.a.url",
    "sources.b.path",
    "sources.c.engine",
    "sources.d.objectives.rto",
  ]);
  assert.match(problems.find((p) => p.path === "sources.a")!.message, /unknown field extra/);
  assert.match(problems.find((p) => p.path === "sources.c.engine")!.message, /postgres, sqlite, files/);
});

test("YAML syntax errors are BAD_CONFIG, not a crash", () => {
  assert.throws(
    () => parseConfig("repository: [unclosed"),
    (error) => isLifeboatError(error, "BAD_CONFIG"),
  );
});

test("an empty file reports the missing repository", () => {
  assert.deepEqual(
    problemsOf("").map((p) => p.path),
    ["repository"],
  );
});
