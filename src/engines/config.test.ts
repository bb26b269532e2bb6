import assert from "node:assert/strict";
import { test } from "node:test";
import { isLifeboatError } from "../errors.ts";
import { readFile } from "node:fs/promises";
import { maxConfigBytes, maxSources } from "../config/load.ts";
import { parseConfig } from "./config.ts";

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
  const problems = problemsOf(`repository: { url: "ftp://bucket" }
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

test("YAML syntax errors get a hint about syntax, not about fields", () => {
  assert.throws(
    () => parseConfig("repository: [unclosed"),
    (error) => isLifeboatError(error, "BAD_CONFIG") && /YAML where shown/.test(error.hint),
  );
});

test("an alias bomb is BAD_CONFIG, not a hang or INTERNAL", () => {
  const bomb = [
    "a: &a [x, x, x, x, x, x, x, x, x, x]",
    ...Array.from({ length: 8 }, (_, i) => {
      const from = String.fromCharCode(97 + i);
      const to = String.fromCharCode(98 + i);
      return `${to}: &${to} [${Array(10).fill(`*${from}`).join(", ")}]`;
    }),
    "repository: { url: file:///r, password_env: P }",
  ].join("\n");
  assert.throws(
    () => parseConfig(bomb),
    (error) => isLifeboatError(error, "BAD_CONFIG") && /alias/i.test(error.message),
  );
});

test("a key given twice is reported with its path instead of the later one winning", () => {
  assert.throws(
    () =>
      parseConfig(
        "repository: { url: file:///r, password_env: P }\nsources:\n  a: { engine: files, path: /x }\n  a: { engine: files, path: /y }\n",
      ),
    (error) => isLifeboatError(error, "BAD_CONFIG") && /duplicate key sources\.a/.test(error.message),
  );
});

test("a file or source count past the bounds is refused before the expensive work", () => {
  const head = "repository: { url: file:///r, password_env: P }\nsources:\n";
  assert.throws(
    () => parseConfig(head + "#".repeat(maxConfigBytes)),
    (error) => isLifeboatError(error, "BAD_CONFIG") && /larger than/.test(error.message),
  );
  let many = head;
  for (let i = 0; i <= maxSources; i++) many += `  s${i}: { engine: files, path: /d }\n`;
  assert.throws(
    () => parseConfig(many),
    (error) => isLifeboatError(error, "BAD_CONFIG") && /at most 10000/.test(error.message),
  );
});

test("source names may use upper case, in the tool and in the generated JSON schema alike", async () => {
  const config = parseConfig(
    "repository: { url: file:///r, password_env: P }\nsources:\n  App-DB: { engine: files, path: /x }\n",
  );
  assert.ok(config.sources["App-DB"]);
  const schema = JSON.parse(
    await readFile(new URL("../../docs/config.schema.json", import.meta.url), "utf8"),
  ) as { properties: { sources: { propertyNames: { pattern: string } } } };
  assert.match("App-DB", new RegExp(schema.properties.sources.propertyNames.pattern));
});

test("each engine's path fields are resolved against the config file; other engines' fields are not", () => {
  const config = parseConfig(
    "repository: { url: file://repo, password_env: P }\nsources:\n  db: { engine: postgres, url: 'postgres://h/db' }\n  f: { engine: files, path: up, drill: { target: { path: scratch } } }\n",
    "/etc/lb/lifeboat.yaml",
  );
  assert.equal(config.repository.url, "file:///etc/lb/repo");
  assert.equal((config.sources.f as { path: string }).path, "/etc/lb/up");
  assert.equal(config.sources.f?.drill?.target?.path, "/etc/lb/scratch");
  assert.equal((config.sources.db as { url: string }).url, "postgres://h/db");
});

test("the issue 11 contract parses: redis, mariadb, nats and command sources and a group; bad groups name their path", () => {
  const config = parseConfig(
    `repository: { url: file:///var/backups/lifeboat, password_env: LIFEBOAT_PASSWORD }
sources:
  app-db: { engine: postgres, url: "postgres://app@127.0.0.1:5432/app" }
  uploads: { engine: files, path: /var/app/uploads }
  cache:  { engine: redis, url: redis://127.0.0.1:6379 }
  shop:   { engine: mariadb, url: mariadb://root@127.0.0.1:3306/shop }
  events: { engine: nats, url: nats://127.0.0.1:4222, streams: [ORDERS] }
  vectors:
    engine: command
    capture: "curl -fsS -X POST http://qdrant:6333/collections/docs/snapshots"
    restore: "cat > /dev/null"
groups:
  platform: [app-db, cache, uploads]
schedules:
  nightly-bundle: { run: backup, cron: "0 2 * * *", group: platform }
`,
    "/etc/lifeboat/lifeboat.yaml",
  );
  assert.deepEqual(config.groups.platform, ["app-db", "cache", "uploads"]);
  assert.equal(config.sources.cache?.engine, "redis");
  const problems = problemsOf(`repository: { url: file:///r, password_env: P }
sources:
  cache: { engine: redis, url: "redis://:secret@127.0.0.1:6379" }
groups:
  twice: [cache, cache]
  alone: [cache]
schedules:
  s: { run: check, every: 1h, group: twice }
  t: { run: backup, every: 1h, group: nowhere }
`);
  const paths = problems.map((problem) => problem.path);
  assert.ok(paths.includes("sources.cache.url"), paths.join(", "));
  assert.ok(paths.includes("groups.twice.1"), paths.join(", "));
  assert.ok(
    paths.some((path) => path.startsWith("groups.alone")),
    paths.join(", "),
  );
  assert.ok(paths.includes("schedules.s.group"), paths.join(", "));
  assert.ok(paths.includes("schedules.t.group"), paths.join(", "));
});
