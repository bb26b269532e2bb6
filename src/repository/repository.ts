// Opening and creating repositories (docs/repository-format.md is the
// contract). Opening keeps damage local: a damaged config is recovered from
// the authenticated copy in the key files, a damaged key file is reported
// while another key opens the repository.

import { randomBytes } from "node:crypto";
import { isLifeboatError, LifeboatError } from "../errors.ts";
import type { Backend } from "../storage/backend.ts";
import { DEFAULT_CHUNKER, validateChunkerSizes } from "./chunker.ts";
import type { ChunkerSizes } from "./chunker.ts";
import { CONFIG_KEY, encodeConfig, parseConfig, readConfig } from "./config-file.ts";
import { DEFAULT_SCRYPT, generateMasterKey } from "./crypto.ts";
import type { MasterKey, ScryptParams } from "./crypto.ts";
import { createKeyFile, KEYS_PREFIX, openConfigCopy } from "./key-files.ts";
import type { DamagedKey, StoredKey } from "./key-files.ts";
import { recoverConfig, unlockMasterKey } from "./key-unlock.ts";
import { OpenRepository } from "./open-repository.ts";
import { MAX_PACK_SIZE, MIN_PACK_SIZE } from "./pack-destination.ts";
import { FORMAT_VERSION } from "./types.ts";
import type { DamagedObject, OpenOptions, Repository, RepositoryConfigFile } from "./types.ts";

export interface InitOptions {
  /** null creates an unencrypted repository (only when the user asked for `encryption: none`). */
  readonly password: string | null;
  readonly chunker?: ChunkerSizes;
  readonly kdf?: ScryptParams;
  /** The format to create (default: the newest); tests make format 1 repositories to migrate. */
  readonly format?: 1 | 2;
  /** Target pack size in bytes of format 2 (default 32 MiB); a format 1 repository keeps it for `migrate`. */
  readonly packSize?: number;
}

export async function initRepository(
  backend: Backend,
  options: InitOptions,
  openOptions: OpenOptions = {},
): Promise<Repository> {
  const exists = () =>
    new LifeboatError("REPOSITORY_EXISTS", `a Lifeboat repository already exists at ${backend.location}`, {
      details: { location: backend.location },
    });
  if (await backend.stat(CONFIG_KEY)) throw exists();
  const sizes = options.chunker ?? DEFAULT_CHUNKER;
  const problem = validateChunkerSizes(sizes);
  if (problem) throw new LifeboatError("BAD_ARGUMENT", `chunker sizes ${JSON.stringify(sizes)}: ${problem}`);
  const format = options.format ?? FORMAT_VERSION;
  if (options.packSize !== undefined && !validPackSize(options.packSize)) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `pack size ${options.packSize}: a format 2 repository's packs are ${MIN_PACK_SIZE}..${MAX_PACK_SIZE} bytes`,
    );
  }
  const config: RepositoryConfigFile = {
    version: format,
    id: randomBytes(32).toString("hex"),
    created: new Date().toISOString(),
    encryption: options.password === null ? "none" : "aes-256-gcm",
    chunker: { algorithm: "fastcdc", min: sizes.min, avg: sizes.avg, max: sizes.max },
    compression: "zstd",
    ...(options.packSize === undefined ? {} : { packSize: options.packSize }),
  };
  const configBytes = encodeConfig(config);
  const master = generateMasterKey();
  // Key first, config last: config is the commit point of init. A key left
  // by an interrupted init names a repository id that never came to exist.
  const key = await createKeyFile(backend, {
    repositoryId: config.id,
    master,
    password: options.password,
    params: options.kdf ?? DEFAULT_SCRYPT,
    configBytes,
  });
  try {
    await backend.put(CONFIG_KEY, configBytes, { ifAbsent: true });
    // Without a native conditional put, ifAbsent is a check then a put: a
    // racing init may have written its config over ours. Read it back.
    if (
      !backend.capabilities.conditionalPut &&
      !Buffer.from(await backend.get(CONFIG_KEY)).equals(configBytes)
    ) {
      throw exists();
    }
  } catch (error) {
    await backend.delete(KEYS_PREFIX + key.id).catch(() => {});
    if (isLifeboatError(error, "STORAGE_ERROR") && error.details["reason"] === "exists") throw exists();
    throw error;
  }
  const state = { config, configBytes, master, key, damage: { keys: [] } };
  return new OpenRepository(backend, state, openOptions);
}

function validPackSize(size: number): boolean {
  return Number.isSafeInteger(size) && size >= MIN_PACK_SIZE && size <= MAX_PACK_SIZE;
}

export async function openRepository(
  backend: Backend,
  password: string | null,
  options: OpenOptions = {},
): Promise<Repository> {
  let damage: LifeboatError;
  try {
    const stored = await readConfig(backend);
    refuseEncryptionMismatch(backend, stored.config, password);
    const unlocked = await unlockMasterKey(backend, stored.config.id, password);
    const keys = unlocked.damaged.map(damagedKeyObject);
    const copy = configCopyOf(unlocked.key, unlocked.master);
    if (copy === undefined || copy.equals(stored.bytes)) {
      const state = { config: stored.config, configBytes: stored.bytes, ...unlocked, damage: { keys } };
      return new OpenRepository(backend, state, options);
    }
    // `config` parses, but differs from the authenticated copy: the copy is the truth.
    const config = parseConfig(copy, backend.location);
    const message = `${CONFIG_KEY} differs from the authenticated copy in ${KEYS_PREFIX}${unlocked.key.id}; the copy is used (run \`lifeboat repair config\`)`;
    const recovered = {
      code: "REPOSITORY_CONFIG_DAMAGED" as const,
      object: CONFIG_KEY,
      message,
      recoveredFrom: `${KEYS_PREFIX}${unlocked.key.id}`,
    };
    const state = { config, configBytes: copy, ...unlocked, damage: { keys, config: recovered } };
    return new OpenRepository(backend, state, options);
  } catch (error) {
    if (!isLifeboatError(error, "REPOSITORY_CONFIG_DAMAGED")) throw error;
    damage = error;
  }
  const recovered = await recoverConfig(backend, password);
  if (!recovered) {
    throw new LifeboatError(
      "REPOSITORY_CONFIG_DAMAGED",
      `${damage.message}; no key file this password opens keeps a copy of it`,
      {
        details: damage.details,
        hint: "Key files written before Lifeboat kept config copies have none. `config` never changes after init: copy it back from any copy of the repository (an older backup of its directory or bucket), then run `lifeboat key add` once so a key file keeps a copy.",
      },
    );
  }
  const from = `${KEYS_PREFIX}${recovered.key.id}`;
  const config = {
    code: "REPOSITORY_CONFIG_DAMAGED" as const,
    object: CONFIG_KEY,
    message: `${damage.message}; opened with the authenticated copy in ${from} (run \`lifeboat repair config\` to rewrite it)`,
    recoveredFrom: from,
  };
  const state = {
    config: recovered.config,
    configBytes: recovered.bytes,
    master: recovered.master,
    key: recovered.key,
    damage: { keys: recovered.damaged.map(damagedKeyObject), config },
  };
  return new OpenRepository(backend, state, options);
}

function refuseEncryptionMismatch(
  backend: Backend,
  config: RepositoryConfigFile,
  password: string | null,
): void {
  if (config.encryption === "none" && password !== null) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `the repository at ${backend.location} is unencrypted, but a password was supplied`,
      {
        details: { location: backend.location },
        hint: "Set repository.encryption: none if the repository is meant to be unencrypted; otherwise its config may have been tampered with.",
      },
    );
  }
  if (config.encryption !== "none" && password === null) {
    throw new LifeboatError(
      "PASSWORD_MISSING",
      `the repository at ${backend.location} is encrypted and needs a password`,
    );
  }
}

/** The config copy of the key that opened the repository; a copy that does not authenticate counts as none. */
function configCopyOf(key: StoredKey, master: MasterKey): Buffer | undefined {
  try {
    return openConfigCopy(key, master);
  } catch {
    return undefined; // the key file's checksum passed, so this needs a forged copy: ignore it, keep `config`
  }
}

function damagedKeyObject(key: DamagedKey): DamagedObject {
  return { code: "KEY_DAMAGED", object: key.object, message: `${key.object}: ${key.reason}` };
}
