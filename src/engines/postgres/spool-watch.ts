// Which files of a directory-format dump has pg_dump finished? With
// --format=directory each data file `<dumpId>.dat` (and `blob_<oid>.dat`) is
// created, written and closed by one pg_dump process and never reopened. So a
// data file that exists in the dump directory and that no pg_dump process
// (the leader and its forked workers) holds open is complete. Linux only: the
// answer comes from /proc; elsewhere the caller waits for pg_dump to exit.

import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { basename, dirname } from "node:path";

/** True when /proc can tell which files our child processes hold open. */
export function canWatchSpool(): boolean {
  return process.platform === "linux" && existsSync(`/proc/${process.pid}/fd`);
}

/**
 * Data files pg_dump may write early. toc.dat (written by the leader) and the
 * large-object TOCs (opened for appending) are left for after pg_dump exits.
 */
export function isEarlyStorable(name: string): boolean {
  return name !== "toc.dat" && /^[A-Za-z0-9_-]+\.dat$/.test(name);
}

/**
 * Tells which data files pg_dump has finished. pg_dump is found by its
 * `--file=<dir>` argument (its forked workers share the leader's command line)
 * and then tracked with its children until it exits: a process seen once is
 * never forgotten, so a worker holding a file cannot slip out of view.
 */
export class SpoolWatcher {
  readonly #fileArg: string;
  readonly #canonicalDir: string;
  readonly #tracked = new Set<number>();
  readonly #stored = new Set<string>();

  /** `dumpArg` is the --file argument as given to pg_dump; `canonicalDir` its resolved path, as /proc shows it. */
  constructor(dumpArg: string, canonicalDir: string) {
    this.#fileArg = `--file=${dumpArg}`;
    this.#canonicalDir = canonicalDir;
  }

  /** Remember that a file was handed on, so it is not reported again. */
  taken(name: string): void {
    this.#stored.add(name);
  }

  /**
   * Data files not handed on yet: those pg_dump has finished, and those it
   * is still writing. Undefined when this poll cannot tell (pg_dump not
   * found, open files unreadable): the caller then waits for the next poll
   * or for pg_dump's exit.
   */
  poll(): { finished: string[]; writing: string[] } | undefined {
    // The listing comes first: a file listed here was created (and opened by
    // its writer) before the scan of open files below, so a writer that still
    // holds it is seen. The other order could miss a file created in between.
    let listed: string[];
    try {
      listed = readdirSync(this.#canonicalDir).filter(
        (name) => isEarlyStorable(name) && !this.#stored.has(name),
      );
    } catch {
      return { finished: [], writing: [] }; // pg_dump has not created the directory yet
    }
    if (listed.length === 0) return { finished: [], writing: [] };
    const open = this.#openFiles();
    if (!open) return undefined;
    return {
      finished: listed.filter((name) => !open.has(name)),
      writing: listed.filter((name) => open.has(name)),
    };
  }

  /** Whether pg_dump may still write `name` (true when it cannot be told). */
  isWriting(name: string): boolean {
    return this.#openFiles()?.has(name) ?? true;
  }

  #openFiles(): Set<string> | undefined {
    if (!this.#track()) return undefined;
    return openFilesIn(this.#tracked, this.#canonicalDir);
  }

  /** Find pg_dump (once) and any new children of the processes tracked; false when it is not running. */
  #track(): boolean {
    if (this.#tracked.size === 0) {
      for (const pid of processesWithArg(this.#fileArg)) this.#tracked.add(pid);
      if (this.#tracked.size === 0) return false;
    }
    for (const pid of [...this.#tracked]) for (const child of childrenOf(pid)) this.#tracked.add(child);
    return true;
  }
}

/** Names of files in `dir` held open by `pids`; undefined when a process's open files cannot be read. */
function openFilesIn(pids: Iterable<number>, dir: string): Set<string> | undefined {
  const open = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue; // exited: holds nothing
      return undefined;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue; // closed meanwhile
      }
      if (dirname(target) === dir) open.add(basename(target));
    }
  }
  return open;
}

function processesWithArg(arg: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv.includes(arg)) found.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return found;
}

/**
 * Children of `pid` from /proc/<pid>/task/<tid>/children (needs
 * CONFIG_PROC_CHILDREN), else from the parent links of every process.
 */
function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return []; // exited
  }
  const found: number[] = [];
  for (const task of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, "latin1");
      for (const child of text.trim().split(/\s+/)) if (child) found.push(Number(child));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT" && existsSync(`/proc/${pid}`))
        return childrenFromParentLinks(pid);
    }
  }
  return found;
}

function childrenFromParentLinks(parent: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === parent) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}
