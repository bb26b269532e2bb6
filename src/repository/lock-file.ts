// The lock object: plaintext JSON at `locks/<id>` (kind, hostname, pid,
// command, created, refreshed). An object that cannot be read as a lock is
// kept as an "unreadable" exclusive lock: it blocks until removed by hand,
// because nothing proves its holder is gone.

import { isLifeboatError } from "../errors.ts";
import type { Backend } from "../storage/backend.ts";
import type { LockInfo } from "./types.ts";

export const LOCKS_PREFIX = "locks/";

export interface StoredLock {
  readonly key: string;
  readonly info: LockInfo;
  /** Why the object could not be read as a lock; such a lock blocks everything until removed with `all`. */
  readonly unreadable?: string;
}

export function encodeLock(info: LockInfo): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(info, null, 2) + "\n");
}

export async function readLocks(backend: Backend): Promise<StoredLock[]> {
  const keys: string[] = [];
  for await (const object of backend.list(LOCKS_PREFIX)) keys.push(object.key);
  const locks: StoredLock[] = [];
  for (const key of keys.sort()) {
    let bytes: Uint8Array;
    try {
      bytes = await backend.get(key);
    } catch (error) {
      if (isLifeboatError(error, "OBJECT_MISSING")) continue; // released between list and get
      throw error;
    }
    locks.push(parseLock(key, bytes));
  }
  return locks;
}

function parseLock(key: string, bytes: Uint8Array): StoredLock {
  const id = key.slice(LOCKS_PREFIX.length);
  let problem: string;
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    problem = lockProblem(value);
    if (problem === "") {
      const v = value as LockInfo;
      const info: LockInfo = {
        id,
        kind: v.kind,
        hostname: v.hostname,
        pid: v.pid,
        command: v.command,
        created: v.created,
        refreshed: v.refreshed,
      };
      return { key, info };
    }
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
  }
  const info: LockInfo = {
    id,
    kind: "exclusive",
    hostname: "(unreadable)",
    pid: 0,
    command: `(unreadable lock object ${key}: ${problem})`,
    created: "",
    refreshed: "",
  };
  return { key, info, unreadable: problem };
}

function lockProblem(value: unknown): string {
  if (typeof value !== "object" || value === null) return "not a JSON object";
  const v = value as Record<string, unknown>;
  if (v.kind !== "shared" && v.kind !== "exclusive") return "bad kind";
  if (typeof v.hostname !== "string") return "bad hostname";
  if (!Number.isInteger(v.pid)) return "bad pid";
  if (typeof v.command !== "string") return "bad command";
  for (const field of ["created", "refreshed"]) {
    const time = v[field];
    if (typeof time !== "string" || Number.isNaN(Date.parse(time))) return `bad ${field}`;
  }
  return "";
}
