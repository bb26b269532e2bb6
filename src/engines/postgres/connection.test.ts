import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLifeboatError } from "../../errors.ts";
import { describeLocation, parsePostgresUrl, toolConnection, withDatabase } from "./connection.ts";
import { partialName } from "./target.ts";

describe("parsePostgresUrl", () => {
  it("splits the password off and keeps it out of the safe URL", () => {
    const location = parsePostgresUrl(
      "postgres://app:s%40cr%3At@db.example:6543/shop?sslmode=require",
      "source",
    );
    assert.equal(location.password, "s@cr:t");
    assert.equal(location.user, "app");
    assert.equal(location.host, "db.example");
    assert.equal(location.port, 6543);
    assert.equal(location.database, "shop");
    assert.equal(location.safeUrl, "postgres://app@db.example:6543/shop?sslmode=require");
    assert.equal(describeLocation(location), "db.example:6543/shop");
    assert.deepEqual(toolConnection(location), {
      args: ["--dbname=postgres://app@db.example:6543/shop?sslmode=require"],
      env: { PGPASSWORD: "s@cr:t" },
    });
  });

  it("moves a password query parameter too", () => {
    const location = parsePostgresUrl(
      "postgresql://app@127.0.0.1/shop?password=hunter2&application_name=x",
      "source",
    );
    assert.equal(location.password, "hunter2");
    assert.ok(!location.safeUrl.includes("hunter2"));
    assert.match(location.safeUrl, /application_name=x/);
  });

  it("understands socket directories, IPv6 and a missing database", () => {
    const socket = parsePostgresUrl("postgres:///shop?host=/var/run/postgresql", "target");
    assert.equal(socket.host, "/var/run/postgresql");
    assert.equal(socket.database, "shop");
    const encodedSocket = parsePostgresUrl("postgres://%2Ftmp%2Fpg/shop", "target");
    assert.equal(encodedSocket.host, "/tmp/pg");
    const ipv6 = parsePostgresUrl("postgres://u@[::1]:5433", "target");
    assert.equal(ipv6.host, "::1");
    assert.equal(ipv6.database, "u");
    assert.equal(ipv6.safeUrl, "postgres://u@[::1]:5433/u");
  });

  it("switches database without losing parameters or leaking the password", () => {
    const location = parsePostgresUrl("postgres://u:pw@h/app?sslmode=disable", "target");
    const maintenance = withDatabase(location, "postgres");
    assert.equal(maintenance.safeUrl, "postgres://u@h/postgres?sslmode=disable");
    assert.equal(maintenance.password, "pw");
  });

  it("rejects what is not a postgres URL, without echoing a password", () => {
    assert.throws(
      () => parsePostgresUrl("mysql://u:topsecret@h/app", "source"),
      (error) => isLifeboatError(error, "BAD_ARGUMENT") && !error.message.includes("topsecret"),
    );
    assert.throws(
      () => parsePostgresUrl("postgres://h:99999/app", "source"),
      /not a valid URL|not a TCP port/,
    );
  });
});

describe("partialName", () => {
  it("marks the database as partial and fits in 63 bytes, even for long multibyte names", () => {
    assert.match(partialName("app"), /^app_lifeboat_partial_[0-9a-f]{8}$/);
    const long = partialName("データベース".repeat(10));
    assert.ok(Buffer.byteLength(long) <= 63, long);
    assert.match(long, /_lifeboat_partial_[0-9a-f]{8}$/);
  });
});
