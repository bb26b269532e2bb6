import assert from "node:assert/strict";
import { test } from "node:test";
import { definesCallable, definesSubcommand } from "./program-source.ts";

test("subcommands of argparse, click, typer and commander", () => {
  assert.ok(definesSubcommand(`sub.add_parser("snapshot", help="x")`, "snapshot"));
  assert.ok(definesSubcommand(`sub.add_parser('restore')`, "restore"));
  assert.ok(!definesSubcommand(`sub.add_parser("snapshots")`, "snapshot"));
  assert.ok(definesSubcommand(`@cli.command("snapshot")\ndef snap():`, "snapshot"));
  assert.ok(definesSubcommand(`@app.command()\n@click.option("--x")\ndef restore_all(x):`, "restore-all"));
  assert.ok(definesSubcommand(`@cli.command\nasync def snapshot():`, "snapshot"));
  assert.ok(!definesSubcommand(`@cli.command()\ndef other():`, "snapshot"));
  assert.ok(definesSubcommand(`program.command("restore <key>")`, "restore"));
});

test("top-level callables in Python and JavaScript modules", () => {
  assert.ok(definesCallable("def main() -> None:\n    pass", "main"));
  assert.ok(definesCallable("async def main():", "main"));
  assert.ok(definesCallable("main = make_main()", "main"));
  assert.ok(definesCallable("main: Callable[[], None] = run", "main"));
  assert.ok(!definesCallable("class X:\n    def main(self):", "main"));
  assert.ok(!definesCallable("main == 1", "main"));
  assert.ok(definesCallable("export async function main() {}", "main"));
  assert.ok(definesCallable("export const main = () => {}", "main"));
  assert.ok(definesCallable("export { run as other, main };", "main"));
});
