// Children never inherit Lifeboat's environment: a real child prints what it got.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { baseEnvironment, childEnvironment } from "./child-env.ts";
import { processRunner } from "./process.ts";

const secrets = {
  LIFEBOAT_PASSWORD: "repo-password-for-child-env-test",
  LIFEBOAT_NEW_PASSWORD: "new-password-for-child-env-test",
  PGPASSWORD: "pg-password-for-child-env-test",
  SLACK_WEBHOOK_URL: "https://hooks.slack.example/services/T0/B0/child-env-test",
  MY_REPO_PASSWORD: "custom-password-env-for-child-env-test",
};

describe("child environment", () => {
  it("keeps only the allow-list", () => {
    const env = {
      ...secrets,
      PATH: "/usr/bin",
      HOME: "/root",
      USER: "root",
      LOGNAME: "root",
      LANG: "C.UTF-8",
      LC_ALL: "C",
      TZ: "UTC",
      TMPDIR: "/var/tmp",
      PGHOST: "db.example",
      NODE_OPTIONS: "--inspect",
    };
    assert.deepEqual(baseEnvironment(env), {
      PATH: "/usr/bin",
      HOME: "/root",
      USER: "root",
      LOGNAME: "root",
      LANG: "C.UTF-8",
      LC_ALL: "C",
      TZ: "UTC",
      TMPDIR: "/var/tmp",
    });
    assert.deepEqual(childEnvironment({ PGHOST: "/sock", TZ: undefined }, env), {
      PATH: "/usr/bin",
      HOME: "/root",
      USER: "root",
      LOGNAME: "root",
      LANG: "C.UTF-8",
      LC_ALL: "C",
      TMPDIR: "/var/tmp",
      PGHOST: "/sock",
    });
  });

  it("a child started by the process runner sees none of Lifeboat's secrets", async () => {
    Object.assign(process.env, secrets);
    try {
      const result = await processRunner.run("env", [], { env: { PGHOST: "/given/by/the/caller" } });
      assert.ok(result.ok, result.stderr);
      for (const [name, value] of Object.entries(secrets)) {
        assert.ok(!result.stdout.includes(value), `${name}'s value reached the child:\n${result.stdout}`);
        assert.ok(!result.stdout.includes(`${name}=`), `${name} reached the child`);
      }
      assert.match(result.stdout, /^PGHOST=\/given\/by\/the\/caller$/m);
      assert.match(result.stdout, /^PATH=/m);
    } finally {
      for (const name of Object.keys(secrets)) delete process.env[name];
    }
  });

  it(
    "runuser passes on no more than it got",
    { skip: process.getuid?.() !== 0 && "needs root" },
    async () => {
      Object.assign(process.env, secrets);
      try {
        const result = await processRunner.run("env", [], { user: "nobody" });
        assert.ok(result.ok, result.stderr);
        for (const value of Object.values(secrets)) assert.ok(!result.stdout.includes(value), result.stdout);
        assert.match(result.stdout, /^USER=nobody$/m);
      } finally {
        for (const name of Object.keys(secrets)) delete process.env[name];
      }
    },
  );
});
