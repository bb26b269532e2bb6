// Opening and creating repositories, and the Repository facade over the
// format's parts (docs/repository-format.md is the contract).

import { randomBytes } from "node:crypto";
import type { Snapshot } from "../domain/snapshot.ts";
import type { ArtifactSource } from "../engines/engine.ts";
import { isLifeboatError, LifeboatError } from "../errors.ts";
import type { Backend } from "../storage/backend.ts";
import { RepositoryArtifactSource } from "./artifact-source.ts";
import { checkRepository } from "./check.ts";
import { Chunker, DEFAULT_CHUNKER, validateChunkerSizes } from "./chunker.ts";
import type { ChunkerSizes } from "./chunker.ts";
import { CONFIG_KEY, encodeConfig, readConfig } from "./config-file.ts";
import { DEFAULT_SCRYPT, gearTableOf, generateMasterKey } from "./crypto.ts";
import type { MasterKey, ScryptParams } from "./crypto.ts";
import { createKeyFile, KEYS_PREFIX, listKeyFiles, unlockMasterKey } from "./key-files.ts";
import type { StoredKey } from "./key-files.ts";
import { acquireLock, listLocks } from "./locks.ts";
import { mapLimited } from "./limiter.ts";
import { decodeManifest } from "./manifest.ts";
import { ObjectStore, SNAPSHOTS_PREFIX } from "./object-store.ts";
import { FORMAT_VERSION } from "./types.ts";
import type {
  CheckOptions,
  CheckReport,
  KeyInfo,
  Lock,
  LockInfo,
  LockKind,
  Repository,
  RepositoryConfigFile,
  SnapshotWriter,
} from "./types.ts";
import { loadChunkIndex, RepositorySnapshotWriter } from "./writer.ts";

export interface InitOptions {
  /** null creates an unencrypted repository (only when the user asked for `encryption: none`). */
  readonly password: string | null;
  readonly chunker?: ChunkerSizes;
  readonly kdf?: ScryptParams;
}

export async function initRepository(backend: Backend, options: InitOptions): Promise<Repository> {
  const exists = () =>
    new LifeboatError("REPOSITORY_EXISTS", `a Lifeboat repository already exists at ${backend.location}`, {
      details: { location: backend.location },
    });
  if (await backend.stat(CONFIG_KEY)) throw exists();
  const sizes = options.chunker ?? DEFAULT_CHUNKER;
  const problem = validateChunkerSizes(sizes);
  if (problem) throw new LifeboatError("BAD_ARGUMENT", `chunker sizes ${JSON.stringify(sizes)}: ${problem}`);
  const config: RepositoryConfigFile = {
    version: FORMAT_VERSION,
    id: randomBytes(32).toString("hex"),
    created: new Date().toISOString(),
    encryption: options.password === null ? "none" : "aes-256-gcm",
    chunker: { algorithm: "fastcdc", min: sizes.min, avg: sizes.avg, max: sizes.max },
    compression: "zstd",
  };
  const master = generateMasterKey();
  // Key first, config last: config is the commit point of init. A key left
  // by an interrupted init names a repository id that never came to exist.
  const key = await createKeyFile(
    backend,
    config.id,
    master,
    options.password,
    options.kdf ?? DEFAULT_SCRYPT,
  );
  try {
    await backend.put(CONFIG_KEY, encodeConfig(config), { ifAbsent: true });
  } catch (error) {
    await backend.delete(KEYS_PREFIX + key.id).catch(() => {});
    if (isLifeboatError(error, "STORAGE_ERROR") && error.details["reason"] === "exists") throw exists();
    throw error;
  }
  return new OpenRepository(backend, config, master, key);
}

export async function openRepository(backend: Backend, password: string | null): Promise<Repository> {
  const config = await readConfig(backend);
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
  const { master, key } = await unlockMasterKey(backend, config.id, password);
  return new OpenRepository(backend, config, master, key);
}

const PARALLEL_MANIFEST_READS = 8;

class OpenRepository implements Repository {
  readonly config: RepositoryConfigFile;
  readonly location: string;
  readonly #backend: Backend;
  readonly #master: MasterKey;
  readonly #key: StoredKey;
  readonly #store: ObjectStore;
  readonly #chunker: Chunker;
  /** Manifests are immutable and named by their hash: a decoded one never goes stale. */
  readonly #manifests = new Map<string, Snapshot>();

  constructor(backend: Backend, config: RepositoryConfigFile, master: MasterKey, key: StoredKey) {
    this.config = config;
    this.location = backend.location;
    this.#backend = backend;
    this.#master = master;
    this.#key = key;
    this.#store = new ObjectStore(backend, master, config.encryption, config.chunker.max);
    this.#chunker = new Chunker(gearTableOf(master), config.chunker);
  }

  async listSnapshots(filter: { source?: string } = {}): Promise<Snapshot[]> {
    const ids: string[] = [];
    for await (const info of this.#backend.list(SNAPSHOTS_PREFIX))
      ids.push(info.key.slice(SNAPSHOTS_PREFIX.length));
    const snapshots = await mapLimited(ids, PARALLEL_MANIFEST_READS, async (id) => {
      const cached = this.#manifests.get(id);
      if (cached) return cached;
      const snapshot = decodeManifest(id, await this.#store.readManifest(id));
      this.#manifests.set(id, snapshot);
      return snapshot;
    });
    return snapshots
      .filter((snapshot) => filter.source === undefined || snapshot.source === filter.source)
      .sort(
        (a, b) =>
          Date.parse(a.consistentAt) - Date.parse(b.consistentAt) ||
          a.finishedAt.localeCompare(b.finishedAt) ||
          a.id.localeCompare(b.id),
      );
  }

  async findSnapshot(selector: string, source?: string): Promise<Snapshot> {
    const snapshots = await this.listSnapshots(source === undefined ? {} : { source });
    const scope = source === undefined ? "" : ` of source ${source}`;
    const notFound = (what: string) =>
      new LifeboatError("SNAPSHOT_NOT_FOUND", `${what}${scope} in ${this.location}`, {
        details: { selector, ...(source === undefined ? {} : { source }) },
      });
    if (selector === "latest") {
      const latest = snapshots.at(-1);
      if (!latest) throw notFound("no snapshot");
      return latest;
    }
    if (!/^[0-9a-f]*$/i.test(selector)) throw notFound(`no snapshot ${selector}`);
    const wanted = selector.toLowerCase();
    const matches = snapshots.filter((snapshot) => snapshot.id.startsWith(wanted));
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) throw notFound(`no snapshot ${selector}`);
    const candidates = matches.map((snapshot) => snapshot.id);
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `snapshot id prefix ${selector} is ambiguous: ${candidates.join(", ")}`,
      {
        details: { selector, candidates },
        hint: "Give more characters of the snapshot id.",
      },
    );
  }

  async saveDrillReport(report: { readonly id: string }): Promise<void> {
    await this.#store.putDocument("drills", report.id, Buffer.from(JSON.stringify(report)));
  }

  async listDrillReports(): Promise<unknown[]> {
    const keys: string[] = [];
    for await (const info of this.#backend.list("drills/")) keys.push(info.key);
    keys.sort();
    const documents = await mapLimited(keys, PARALLEL_MANIFEST_READS, async (key) => {
      const plaintext = await this.#store.readDocument(key);
      try {
        return JSON.parse(plaintext.toString("utf8")) as unknown;
      } catch (error) {
        throw new LifeboatError("CHECKSUM_MISMATCH", `drill report ${key} is not valid JSON`, {
          details: { object: key },
          cause: error,
        });
      }
    });
    return documents;
  }

  async newSnapshotWriter(): Promise<SnapshotWriter> {
    this.#store.warmUp(); // workers load while data/ is listed
    return new RepositorySnapshotWriter(this.#store, this.#chunker, await loadChunkIndex(this.#store));
  }

  openArtifacts(snapshot: Snapshot): ArtifactSource {
    this.#store.warmUp();
    return new RepositoryArtifactSource(this.#store, snapshot);
  }

  check(options: CheckOptions): Promise<CheckReport> {
    return checkRepository(this.#store, options);
  }

  lock(kind: LockKind, command: string): Promise<Lock> {
    return acquireLock(this.#backend, kind, command);
  }

  listLocks(): Promise<LockInfo[]> {
    return listLocks(this.#backend);
  }

  async listKeys(): Promise<KeyInfo[]> {
    const { keys } = await listKeyFiles(this.#backend, this.config.id);
    return keys.map((key) => this.#infoOf(key));
  }

  async addKey(newPassword: string): Promise<KeyInfo> {
    if (this.config.encryption === "none") {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `the repository at ${this.location} is unencrypted; it has no passwords`,
        {
          hint: "Create a new repository with a password to have an encrypted one.",
        },
      );
    }
    // New keys cost what the current one costs: a repository made with cheap
    // test parameters stays cheap, one made with strong parameters stays strong.
    const kdf = this.#key.file.kdf;
    const params = kdf.algorithm === "scrypt" ? { N: kdf.N, r: kdf.r, p: kdf.p } : DEFAULT_SCRYPT;
    return this.#infoOf(
      await createKeyFile(this.#backend, this.config.id, this.#master, newPassword, params),
    );
  }

  async removeKey(id: string): Promise<void> {
    const { keys } = await listKeyFiles(this.#backend, this.config.id);
    const key = keys.find((candidate) => candidate.id === id);
    if (!key) {
      throw new LifeboatError("KEY_NOT_FOUND", `no key ${id} in the repository at ${this.location}`, {
        details: { id },
      });
    }
    if (keys.length === 1) {
      throw new LifeboatError(
        "LAST_KEY",
        `key ${id} is the repository's last key; removing it would lock everyone out`,
        {
          details: { id },
        },
      );
    }
    if (id === this.#key.id) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `key ${id} is the one this process opened the repository with`,
        {
          details: { id },
          hint: "Open the repository with another key's password to remove this one; that proves the other password works.",
        },
      );
    }
    await this.#backend.delete(KEYS_PREFIX + id);
  }

  async close(): Promise<void> {
    await this.#store.close();
    await this.#backend.close();
  }

  #infoOf(key: StoredKey): KeyInfo {
    const { created, hostname, username } = key.file;
    return { id: key.id, created, hostname, username, current: key.id === this.#key.id };
  }
}
