// Which Lifeboat the PITR benchmark runs. By default the installed package, as
// users run it: packed and installed once (test/support/package-install.ts)
// into a folder of the bench's work dir, so it goes with the work dir at the
// end and on Ctrl-C. With --dev, the checkout's TypeScript entry, which Node
// type-strips at every start: ~100+ ms more per process, which shows most in the
// archive_command, one process per WAL segment.

import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { packAndInstall } from "../../test/support/package-install.ts";
import { runTool } from "./pg-cluster.ts";

export interface LifeboatEntry {
  /** The script `process.execPath` runs (Node 24: postgres's PATH may hold an older node). */
  readonly script: string;
  /** For the results header, after "Lifeboat command: ". */
  readonly description: string;
}

export function developmentEntry(repoRoot: string): LifeboatEntry {
  const script = join(repoRoot, "src", "cli", "main.ts");
  return {
    script,
    description: `development checkout (\`node ${script}\`, TypeScript stripped at every start)`,
  };
}

/**
 * `npm pack` + `npm install` of the tarball into `<workDir>/installed/prefix`,
 * readable and traversable by postgres (the archive_command runs as postgres),
 * checked by running it as postgres.
 */
export async function installedEntry(workDir: string): Promise<LifeboatEntry> {
  const installDir = join(workDir, "installed");
  const installed = await packAndInstall(installDir);
  // The copy of the checkout was only needed to build the tarball.
  await rm(join(installDir, "checkout"), { recursive: true, force: true });
  // npm honours the umask; make sure, whatever it was, that postgres can read every file and
  // traverse every folder from the work dir (already 0755) down to the bin.
  const opened = await runTool("chmod", ["-R", "a+rX", installDir]);
  if (opened.code !== 0) throw new Error(`chmod -R a+rX ${installDir}: ${opened.stderr.trim()}`);
  const probe = await runTool("runuser", [
    "-u",
    "postgres",
    "--",
    process.execPath,
    installed.bin,
    "--version",
  ]);
  if (probe.code !== 0)
    throw new Error(
      `the installed lifeboat does not run as postgres (exit ${probe.code}): ${probe.stderr.trim()}`,
    );
  const manifest = JSON.parse(await readFile(join(installed.packageDir, "package.json"), "utf8")) as {
    version?: string;
  };
  return {
    script: installed.bin,
    description: `installed package ${manifest.version ?? "(no version in its package.json)"} (\`npm pack\` tarball installed into a temporary prefix, run as \`node ${installed.bin}\`)`,
  };
}
