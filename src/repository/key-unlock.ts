// Opening the master key with a password, and recovering a damaged `config`
// from the copy sealed in the key files (docs/repository-format.md, "Key
// files" and "Recovering a damaged config"). The outcomes are kept apart on
// purpose: no key file at all, a damaged key file, a wrong password and a
// damaged config each have their own error.

import { LifeboatError } from "../errors.ts";
import type { Backend } from "../storage/backend.ts";
import { configDamaged, parseConfig } from "./config-file.ts";
import type { StoredConfig } from "./config-file.ts";
import type { MasterKey } from "./crypto.ts";
import { listKeyFiles, openConfigCopy, tryKey } from "./key-files.ts";
import type { DamagedKey, StoredKey } from "./key-files.ts";
import type { RepositoryConfigFile } from "./types.ts";

export interface Unlocked {
  readonly master: MasterKey;
  readonly key: StoredKey;
  /** Key files that could not be read; the repository opened with another one. */
  readonly damaged: readonly DamagedKey[];
}

function keyDamaged(location: string, damaged: readonly DamagedKey[], why: string): LifeboatError {
  const named = damaged.map((key) => `${key.object} (${key.reason})`).join(", ");
  return new LifeboatError("KEY_DAMAGED", `${why} at ${location}; damaged key file(s): ${named}`, {
    details: { object: damaged[0]?.object, damaged },
  });
}

/** Open the master key of repository `repositoryId` with `password` (null for an unencrypted repository). */
export async function unlockMasterKey(
  backend: Backend,
  repositoryId: string,
  password: string | null,
): Promise<Unlocked> {
  const { keys, foreign, damaged } = await listKeyFiles(backend, repositoryId);
  if (keys.length === 0) {
    if (foreign.length > 0) {
      // Intact key files exist, but none names the config's id: the id is what is damaged.
      const ids = [...new Set(foreign.map((key) => key.file.repository))];
      throw configDamaged(
        backend.location,
        `it names repository id ${repositoryId}, but the key files name ${ids.join(", ")}`,
        { keyRepositoryIds: ids },
      );
    }
    if (damaged.length > 0) throw keyDamaged(backend.location, damaged, "no intact key file");
    throw new LifeboatError("KEY_NOT_FOUND", `repository at ${backend.location} has no key file`, {
      details: { location: backend.location },
    });
  }
  for (const key of keys) {
    const master = await tryKey(key, password);
    if (master) return { master, key, damaged };
  }
  if (password === null) {
    throw new LifeboatError(
      "PASSWORD_MISSING",
      `repository at ${backend.location} is encrypted and needs a password`,
    );
  }
  if (damaged.length > 0) {
    throw keyDamaged(
      backend.location,
      damaged,
      `no intact key opens with that password (${keys.length} tried), and the password may belong to a damaged one`,
    );
  }
  throw new LifeboatError(
    "WRONG_PASSWORD",
    `no key of the repository at ${backend.location} opens with that password (${keys.length} tried)`,
    { details: { keysTried: keys.length } },
  );
}

export interface RecoveredConfig extends StoredConfig {
  readonly master: MasterKey;
  readonly key: StoredKey;
  readonly damaged: readonly DamagedKey[];
}

/**
 * The authentic config, from the copy sealed in a key file the password opens.
 * Only key files of the matching kind are tried (scrypt with a password, plain
 * without), so a recovered copy can never downgrade an encrypted repository.
 */
export async function recoverConfig(
  backend: Backend,
  password: string | null,
): Promise<RecoveredConfig | undefined> {
  const { keys, foreign, damaged } = await listKeyFiles(backend, "");
  const found = new Map<string, RecoveredConfig>();
  for (const key of [...keys, ...foreign]) {
    if (key.file.configCopy === undefined) continue;
    const master = await tryKey(key, password);
    if (!master) continue;
    let config: RepositoryConfigFile;
    let bytes: Buffer | undefined;
    try {
      bytes = openConfigCopy(key, master);
      if (!bytes) continue;
      config = parseConfig(bytes, backend.location);
    } catch {
      continue; // a copy that does not authenticate or parse is no copy; another key file may hold a good one
    }
    if (config.id !== key.file.repository) continue; // the copy belongs with its key file
    if (!found.has(config.id)) found.set(config.id, { config, bytes, master, key, damaged });
  }
  if (found.size > 1) {
    throw configDamaged(
      backend.location,
      `the key files this password opens describe ${found.size} different repositories (${[...found.keys()].join(", ")}); restore config from a copy of the repository`,
    );
  }
  return found.values().next().value;
}
