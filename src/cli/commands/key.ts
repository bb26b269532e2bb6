// lifeboat key add|list|remove: several passwords may unlock one repository.
// A new password is read from an environment variable or a file, never argv.

import { registerSecret } from "../../runtime/redact.ts";
import { readFile } from "node:fs/promises";
import { LifeboatError } from "../../errors.ts";
import { KEYS_PREFIX } from "../../repository/key-files.ts";
import { table } from "../output.ts";
import { withRepository, type CommandEnv } from "../session.ts";

export async function keyListCommand(env: CommandEnv): Promise<void> {
  const { keys, damaged } = await withRepository(env, null, async (context) => ({
    keys: await context.repository.listKeys(),
    damaged: context.repository.damage.keys,
  }));
  env.output.result({ keys, damaged }, () =>
    table(
      ["ID", "CURRENT", "CREATED", "HOST", "USER"],
      [
        ...keys.map((key) => [
          key.id.slice(0, 8),
          key.current ? "*" : "",
          key.created,
          key.hostname,
          key.username,
        ]),
        ...damaged.map((key) => [
          key.object.slice("keys/".length, "keys/".length + 8),
          "DAMAGED",
          "?",
          "?",
          "?",
        ]),
      ],
    ),
  );
}

export async function readNewPassword(flags: {
  newPasswordEnv: string;
  newPasswordFile?: string;
}): Promise<string> {
  if (flags.newPasswordFile) {
    const password = (await readFile(flags.newPasswordFile, "utf8")).split(/\r?\n/)[0] ?? "";
    if (!password)
      throw new LifeboatError("PASSWORD_MISSING", `password file ${flags.newPasswordFile} is empty`);
    registerSecret(password);
    return password;
  }
  const password = process.env[flags.newPasswordEnv];
  if (!password) {
    throw new LifeboatError(
      "PASSWORD_MISSING",
      `environment variable ${flags.newPasswordEnv} (the new password) is not set`,
      {
        hint: `Set ${flags.newPasswordEnv}, or pass --new-password-file FILE.`,
      },
    );
  }
  registerSecret(password);
  return password;
}

export async function keyAddCommand(
  env: CommandEnv,
  flags: { newPasswordEnv: string; newPasswordFile?: string },
): Promise<void> {
  const password = await readNewPassword(flags);
  const key = await withRepository(env, { kind: "shared", command: "key add" }, (context) =>
    context.repository.addKey(password),
  );
  env.output.result({ key }, () => `added key ${key.id.slice(0, 8)}`);
}

export async function keyRemoveCommand(env: CommandEnv, id: string): Promise<void> {
  const removed = await withRepository(env, { kind: "exclusive", command: "key remove" }, async (context) => {
    // Damaged key files can be removed too (the KEY_DAMAGED hint says to): they are named by id only.
    const damaged = context.repository.damage.keys.map((key) => ({
      id: key.object.slice(KEYS_PREFIX.length),
      current: false,
    }));
    const keys = [...(await context.repository.listKeys()), ...damaged];
    const matches = keys.filter((key) => key.id.startsWith(id));
    if (matches.length !== 1) {
      throw new LifeboatError(
        matches.length ? "BAD_ARGUMENT" : "KEY_NOT_FOUND",
        matches.length ? `key id ${id} is ambiguous` : `no key with id ${id}`,
      );
    }
    const [key] = matches as [(typeof matches)[number]];
    if (key.current) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `key ${key.id.slice(0, 8)} is the one this command opened the repository with`,
        {
          hint: "Open the repository with another key's password to remove this one.",
        },
      );
    }
    await context.repository.removeKey(key.id);
    return key;
  });
  env.output.result({ removed }, () => `removed key ${removed.id.slice(0, 8)}`);
}
