import assert from "node:assert/strict";
import { test } from "node:test";
import { lifeboatArgs, shellCommands, shellWords } from "./shell.ts";

test("words: quotes, escapes, comments, separators, redirections and placeholders", () => {
  assert.deepEqual(shellWords(`pg_dumpall -U "$POSTGRES USER" | gzip > "$FILE" # nightly`), [
    "pg_dumpall",
    "-U",
    "$POSTGRES USER",
    "|",
    "gzip",
  ]);
  assert.deepEqual(shellWords("a 2>&1 && b 2> err.log; c <<in"), ["a", "&&", "b", ";", "c"]);
  assert.deepEqual(shellWords("restore s3://bucket/<snapshot_id>.tar.gz --to <target>"), [
    "restore",
    "s3://bucket/<snapshot_id>.tar.gz",
    "--to",
    "<target>",
  ]);
  assert.deepEqual(shellWords("echo a#b 'it''s'"), ["echo", "a#b", "its"]);
});

test("commands: continuations joined at the first line, prefixes stripped", () => {
  const block = [
    "# restore first",
    "export LIFEBOAT_PASSWORD",
    "sudo -E LIFEBOAT_CONFIG=/etc/l.yaml lifeboat -c x.yaml restore app-db \\",
    "  --to /tmp/r   # a comment",
    "",
    "lifeboat backup && env -i FOO=1 npx lifeboat drill app-db",
  ].join("\n");
  const commands = shellCommands(block, 10);
  assert.deepEqual(
    commands.map((command) => [command.line, command.words.join(" ")]),
    [
      [11, "export LIFEBOAT_PASSWORD"],
      [12, "lifeboat -c x.yaml restore app-db --to /tmp/r"],
      [15, "lifeboat backup"],
      [15, "npx lifeboat drill app-db"],
    ],
  );
  assert.deepEqual(commands.map(lifeboatArgs), [
    undefined,
    ["-c", "x.yaml", "restore", "app-db", "--to", "/tmp/r"],
    ["backup"],
    ["drill", "app-db"],
  ]);
});
