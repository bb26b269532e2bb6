import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isLifeboatError } from "../errors.ts";
import { redact } from "../runtime/redact.ts";
import { readRepositoryPassword } from "./password.ts";
import type { RepositoryConfig } from "./schema.ts";

const fromEnv = { url: "file:///tmp/x", password_env: "REPO_PW" } as RepositoryConfig;

describe("readRepositoryPassword", () => {
  it("tells a variable that is set but empty from one that is not set", async () => {
    await assert.rejects(
      readRepositoryPassword(fromEnv, { REPO_PW: "" }),
      (error) => isLifeboatError(error, "PASSWORD_MISSING") && /REPO_PW is set but empty/.test(error.message),
    );
    await assert.rejects(
      readRepositoryPassword(fromEnv, {}),
      (error) => isLifeboatError(error, "PASSWORD_MISSING") && /REPO_PW is not set/.test(error.message),
    );
  });

  it("falls back to the password file when the variable is empty, and registers what it read", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lifeboat-password-"));
    try {
      const file = join(dir, "pw");
      await writeFile(file, "from-the-password-file\nsecond line\n");
      const config = { ...fromEnv, password_file: file } as RepositoryConfig;
      assert.equal(await readRepositoryPassword(config, { REPO_PW: "" }), "from-the-password-file");
      assert.equal(redact("x from-the-password-file y"), "x *** y");
      assert.equal(
        await readRepositoryPassword(fromEnv, { REPO_PW: "custom-variable-pw" }),
        "custom-variable-pw",
      );
      assert.equal(redact("custom-variable-pw"), "***");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
