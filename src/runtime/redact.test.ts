import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { processRunner } from "./process.ts";
import {
  minimumRedactedLength,
  redact,
  redactCredentialPatterns,
  redactDeep,
  redactedJson,
  registerSecret,
  registerSecretVariable,
} from "./redact.ts";

describe("redact", () => {
  it("removes URL passwords, keeping the user and host", () => {
    assert.equal(
      redact("cannot reach postgres://app:s3cr%40t@db:5432/shop"),
      "cannot reach postgres://app:***@db:5432/shop",
    );
    // A raw '@' in the password: everything up to the host's '@' goes.
    assert.equal(redact("postgres://app:p@ss@db/shop"), "postgres://app:***@db/shop");
    assert.equal(redact("https://user:token@example.com/x"), "https://user:***@example.com/x");
    assert.equal(redact("postgres://app@db/shop"), "postgres://app@db/shop");
  });

  it("removes password= in URL queries, libpq keyword strings and env dumps", () => {
    assert.equal(
      redact("postgres://app@db/shop?sslmode=require&password=hunter2&x=1"),
      "postgres://app@db/shop?sslmode=require&password=***&x=1",
    );
    assert.equal(redact("host=db password='a b\\'c' dbname=shop"), "host=db password=*** dbname=shop");
    assert.equal(redact("host=db password = plain dbname=shop"), "host=db password = *** dbname=shop");
    assert.equal(
      redact("PGPASSWORD=one\nLIFEBOAT_PASSWORD=two\nPATH=/bin"),
      "PGPASSWORD=***\nLIFEBOAT_PASSWORD=***\nPATH=/bin",
    );
    assert.equal(
      redact("password authentication failed for user app"),
      "password authentication failed for user app",
    );
  });

  it("removes the values of registered secrets, also URL- and JSON-encoded", () => {
    registerSecret("unit-Test secret/1");
    assert.equal(redact("x unit-Test secret/1 y"), "x *** y");
    assert.equal(redact("x unit-Test%20secret%2F1 y"), "x *** y");
    registerSecret('quo"te-secret');
    assert.equal(redact(JSON.stringify({ a: 'quo"te-secret' })), '{"a":"***"}');
  });

  it("registers the value of a named variable, and ignores values too short to redact safely", () => {
    registerSecretVariable("MY_TOKEN", { MY_TOKEN: "from-the-environment" });
    assert.equal(redact("token from-the-environment"), "token ***");
    const short = "a".repeat(minimumRedactedLength - 1);
    registerSecret(short);
    assert.equal(redact(`banana ${short}`), `banana ${short}`);
    registerSecret("");
    registerSecret(undefined);
    assert.equal(redact("unchanged"), "unchanged");
  });

  it("redacts every string of a JSON value, keys included, and keeps its shape", () => {
    registerSecret("deep-secret-value");
    const value = {
      n: 1,
      ok: true,
      none: null,
      list: ["deep-secret-value", 2],
      nested: { url: "postgres://u:pw@h/db", "deep-secret-value": "k" },
      when: new Date("2026-01-02T03:04:05.000Z"),
    };
    assert.deepEqual(redactDeep(value), {
      n: 1,
      ok: true,
      none: null,
      list: ["***", 2],
      nested: { url: "postgres://u:***@h/db", "***": "k" },
      when: "2026-01-02T03:04:05.000Z",
    });
  });

  it("the runner refuses credentials in argv, but not a word that happens to be a registered secret", async () => {
    registerSecret("data");
    assert.equal(redact("-D /x/data"), "-D /x/***");
    assert.equal(redactCredentialPatterns("-D /x/data"), "-D /x/data");
    const ok = await processRunner.run("echo", ["-D", "/x/data"]);
    assert.ok(ok.ok, ok.stderr);
    await assert.rejects(
      processRunner.run("echo", ["--dbname=postgres://u:pw@h/db"]),
      /refusing to pass a password on a command line/,
    );
  });

  it("a large value with no trace of a credential passes as is; one hidden deep inside is still found", () => {
    registerSecret('quo"te\\secret');
    const clean = {
      snapshots: Array.from({ length: 1000 }, (_, n) => ({ id: `id-${n}`, tags: ["a", "b"] })),
    };
    assert.equal(redactDeep(clean), clean, "no walk, no copy");
    const dirty = structuredClone(clean);
    dirty.snapshots[999]!.tags.push('prefix quo"te\\secret suffix');
    assert.equal(redactDeep(dirty).snapshots[999]!.tags[2], "prefix *** suffix");
    const url = structuredClone(clean);
    url.snapshots[5]!.tags.push("s3://key:hidden@bucket");
    assert.equal(redactDeep(url).snapshots[5]!.tags[2], "s3://key:***@bucket");
    assert.equal(redactedJson(clean), JSON.stringify(clean, null, 2));
    assert.ok(!redactedJson(dirty).includes("secret"), "the JSON printed is redacted too");
  });
});
