import assert from "node:assert/strict";
import { test } from "node:test";
import { confirmationName, environmentOf, globMatches } from "./environments.ts";

const environments = {
  production: { match: ["postgres://*@db.prod.internal*", "/srv/app/*"], env_file_marker: "APP_ENV=prod" },
  staging: { match: ["postgres://*@127.0.0.1:5433/*"] },
};

test("patterns: * matches anything, slashes too; the rest is literal", () => {
  assert.ok(globMatches("postgres://*@db.prod.internal*", "postgres://app@db.prod.internal/app"));
  assert.ok(!globMatches("postgres://*@db.prod.internal*", "postgres://app@db.prod-internal/app"));
  assert.ok(globMatches("/srv/app/*", "/srv/app/data/x"));
  assert.ok(!globMatches("/srv/app/*", "/srv/application"));
});

test("a target's environment: production first, then staging; markers of .env files count", () => {
  assert.deepEqual(environmentOf("postgres://app@db.prod.internal/app", environments), {
    name: "production",
    because: "pattern postgres://*@db.prod.internal*",
  });
  assert.equal(environmentOf("postgres://x@127.0.0.1:5433/app", environments)?.name, "staging");
  assert.equal(environmentOf("postgres://x@127.0.0.1:5432/app", environments), undefined);
  assert.deepEqual(
    environmentOf("/data/restore", environments, [{ line: "APP_ENV=prod", file: "/data/.env" }]),
    { name: "production", because: "APP_ENV=prod in /data/.env" },
  );
  assert.equal(
    environmentOf("/data/restore", environments, [{ line: "APP_ENV=production", file: "/data/.env" }]),
    undefined,
  );
  // Credentials never decide (nor show): the pattern sees the URL without its password.
  assert.equal(environmentOf("postgres://app:secret@db.prod.internal/app", environments)?.name, "production");
});

test("the name to confirm: a URL's database (or host), a path's last part", () => {
  assert.equal(confirmationName("postgres://app@db.prod.internal:5432/billing?sslmode=require"), "billing");
  assert.equal(confirmationName("redis://cache.prod:6379"), "cache.prod");
  assert.equal(confirmationName("/srv/app/uploads/"), "uploads");
});
