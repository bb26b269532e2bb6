// wal-push's fast path under wal_push.async: with a live pusher that has
// already archived the segment, it answers from the spool without loading the
// schema, the engines or the repository, and, once the full command left its
// note of the spool (runtime/spool-memo.ts), without the YAML parser either.
// An edited config makes the note stale: the fast path reads the YAML again.

import assert from "node:assert/strict";
import { appendFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { rememberSpoolDir } from "../src/runtime/spool-memo.ts";
import { heavyModulesLoaded, traceCommand } from "./support/module-trace.ts";

const bin = fileURLToPath(new URL("../bin/lifeboat.js", import.meta.url));
let dir: string;
let config: string;
let cache: string;
const segment = "000000010000000000000007";

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "lifeboat-wal-fast-"));
  config = join(dir, "lifeboat.yaml");
  cache = join(dir, "cache");
  const spool = join(dir, "spool");
  await writeFile(
    config,
    `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  app-db:
    engine: postgres
    url: postgres://postgres@127.0.0.1:1/app
    mode: physical
    wal_push: { async: true, spool_dir: "${spool}" }
`,
  );
  // What a live pusher leaves: its pid file (this test's own process is alive) and the done mark.
  await mkdir(join(spool, "app-db", "done"), { recursive: true });
  await writeFile(join(spool, "app-db", "pusher.pid"), `${process.pid}\n`);
});
after(() => rm(dir, { recursive: true, force: true }));

/** The heavy packages a run loaded (pg, zod, yaml, ...); the fast path's own few modules are not counted. */
const packages = (trace: Awaited<ReturnType<typeof traceCommand>>) =>
  heavyModulesLoaded(trace).filter((name) => !name.startsWith("lifeboat "));

async function push() {
  await writeFile(join(dir, "spool", "app-db", "done", segment), "");
  return traceCommand(bin, ["-c", config, "wal-push", "app-db", join(dir, "pg_wal", segment)], {
    ...process.env,
    LIFEBOAT_CACHE_DIR: cache,
  });
}

test("without a note the fast path parses the YAML, and nothing heavier", async () => {
  const trace = await push();
  assert.equal(trace.code, 0, trace.stderr);
  assert.match(trace.stdout, new RegExp(`archived ${segment} \\(by the background pusher\\)`));
  assert.deepEqual(packages(trace), ["yaml"]);
});

test("with the full command's note it loads no YAML parser; an edited config is read again", async () => {
  await rememberSpoolDir(config, "app-db", join(dir, "spool"), cache);
  const trace = await push();
  assert.equal(trace.code, 0, trace.stderr);
  assert.deepEqual(packages(trace), []);
  await appendFile(config, "# edited\n");
  const edited = await push();
  assert.equal(edited.code, 0, edited.stderr);
  assert.deepEqual(packages(edited), ["yaml"]);
});
