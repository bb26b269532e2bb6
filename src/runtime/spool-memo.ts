// Where a source's WAL spool is, remembered for `wal-push`'s fast path. The
// fast path runs once per 16 MiB segment while PostgreSQL waits, and loading
// the YAML parser and parsing lifeboat.yaml is a fifth of its time, so the
// full command leaves a note of the spool directory in the user's own cache
// directory (never a shared temp dir: a planted note could point the fast
// path at a spool that says "archived" for segments that were not). A note
// holds the config file's identity (device, inode, size, mtime, ctime): any
// edit of the file, or another file at that path, makes it stale, and the
// fast path then reads the YAML as before.

import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { writeFileWhole } from "./write-whole.ts";

/** $LIFEBOAT_CACHE_DIR, else $XDG_CACHE_HOME/lifeboat, else ~/.cache/lifeboat (restic's and the XDG convention). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LIFEBOAT_CACHE_DIR) return env.LIFEBOAT_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "lifeboat");
}

interface SpoolMemo {
  readonly config: string;
  readonly identity: string;
  readonly source: string;
  readonly spoolDir: string;
}

function memoPath(configFile: string, source: string, cacheDir: string): string {
  const key = createHash("sha256")
    .update(`${resolve(configFile)}\n${source}`)
    .digest("hex")
    .slice(0, 32);
  return join(cacheDir, "wal-push", `${key}.json`);
}

async function identityOf(configFile: string): Promise<string> {
  const info = await stat(configFile, { bigint: true });
  return [info.dev, info.ino, info.size, info.mtimeNs, info.ctimeNs].join(":");
}

/** The spool directory the note names, when it is about this very config file as it is now. */
export async function recalledSpoolDir(
  configFile: string,
  source: string,
  cacheDir = defaultCacheDir(),
): Promise<string | undefined> {
  try {
    const memo = JSON.parse(await readFile(memoPath(configFile, source, cacheDir), "utf8")) as SpoolMemo;
    if (memo.config !== resolve(configFile) || memo.source !== source) return undefined;
    if (memo.identity !== (await identityOf(configFile))) return undefined;
    return typeof memo.spoolDir === "string" ? memo.spoolDir : undefined;
  } catch {
    return undefined;
  }
}

/** Leave the note; a cache directory that cannot be written only costs the fast path its shortcut. */
export async function rememberSpoolDir(
  configFile: string,
  source: string,
  spoolDir: string,
  cacheDir = defaultCacheDir(),
): Promise<void> {
  try {
    const memo: SpoolMemo = {
      config: resolve(configFile),
      identity: await identityOf(configFile),
      source,
      spoolDir,
    };
    await writeFileWhole(memoPath(configFile, source, cacheDir), JSON.stringify(memo), {
      makeParents: true,
      mode: 0o600,
    });
  } catch {
    // not worth failing an archive_command over
  }
}
