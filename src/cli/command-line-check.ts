// A lifeboat command line, as a runbook writes it, parsed against the real
// commander tree without running anything (runbook/ defines the interface and
// may not import cli/). It follows commander's rules closely enough for a
// runbook: options may come before the subcommand (`lifeboat -c x.yaml
// restore ...`), global options are valid on every subcommand, `--flag=value`
// and bundled short flags (`-qv`) work, and the argument counts must fit.

import type { Command, Option } from "commander";
import type { CommandLineCheck, CommandLineParse } from "../runbook/drift.ts";
import { requiredUnlessFlag } from "./required-unless.ts";

/** Arguments and options whose name says they name sources (or groups, which stand for theirs). */
const namesSources = (name: string) => /source|group/i.test(name);

function findOption(chain: readonly Command[], flag: string): Option | undefined {
  for (const command of [...chain].reverse()) {
    const found = command.options.find((option) => option.long === flag || option.short === flag);
    if (found) return found;
  }
  return undefined;
}

const isHelp = (word: string) => word === "-h" || word === "--help";

export function commandLineCheck(program: Command): CommandLineCheck {
  return (argv) => parse(program, argv);
}

function parse(program: Command, argv: readonly string[]): CommandLineParse {
  const chain: Command[] = [program];
  const positionals: string[] = [];
  const sources: string[] = [];
  const given = new Set<Option>();
  const current = () => chain[chain.length - 1]!;
  const path = () =>
    chain
      .slice(1)
      .map((command) => command.name())
      .join(" ");
  const fail = (problem: string): CommandLineParse => ({
    ok: false,
    problem,
    command: path(),
    usage: ["lifeboat", path(), current().usage()].filter(Boolean).join(" "),
  });
  let optionsEnded = false;
  for (let index = 0; index < argv.length; index++) {
    const word = argv[index]!;
    if (!optionsEnded && word === "--") {
      optionsEnded = true;
      continue;
    }
    if (!optionsEnded && word.startsWith("-") && word !== "-") {
      if (isHelp(word) || (chain.length === 1 && (word === "-V" || word === "--version")))
        return { ok: true, command: path(), takesSource: false, sources: [] };
      const [flag, inline] = word.startsWith("--")
        ? [word.split("=")[0]!, word.includes("=") ? word.slice(word.indexOf("=") + 1) : undefined]
        : [word.slice(0, 2), word.length > 2 ? word.slice(2) : undefined];
      const option = findOption(chain, flag);
      if (!option) return fail(`${["lifeboat", path()].filter(Boolean).join(" ")} has no option ${flag}`);
      given.add(option);
      const takesValue = option.required || option.optional;
      let value: string | undefined;
      if (takesValue) {
        if (inline !== undefined) value = inline;
        else if (option.required) {
          value = argv[index + 1];
          if (value === undefined) return fail(`option ${flag} needs a value`);
          index++;
        } else if (argv[index + 1] !== undefined && !argv[index + 1]!.startsWith("-")) value = argv[++index];
      } else if (inline !== undefined) {
        if (word.startsWith("--")) return fail(`option ${flag} takes no value`);
        // Bundled short flags: -qv is -q -v.
        for (const letter of inline) {
          const bundled = findOption(chain, `-${letter}`);
          if (!bundled) return fail(`lifeboat has no option -${letter}`);
          if (bundled.required || bundled.optional) return fail(`option -${letter} needs a value of its own`);
          given.add(bundled);
        }
      }
      if (value !== undefined && namesSources(option.attributeName())) sources.push(value);
      continue;
    }
    const here = current();
    // commander's implicit `help [command]` is not among .commands.
    if (word === "help" && here.commands.length > 0 && positionals.length === 0)
      return { ok: true, command: path(), takesSource: false, sources: [] };
    if (here.commands.length > 0 && positionals.length === 0) {
      const sub = here.commands.find(
        (command) => command.name() === word || command.aliases().includes(word),
      );
      if (sub) {
        chain.push(sub);
        continue;
      }
      if (here.registeredArguments.length === 0)
        return fail(`unknown command ${path() ? `${path()} ` : ""}${word}`);
    }
    positionals.push(word);
  }
  const command = current();
  if (command.commands.length > 0 && command.registeredArguments.length === 0)
    return fail(
      chain.length === 1
        ? "no subcommand given"
        : `lifeboat ${path()} needs a subcommand: ${command.commands.map((sub) => sub.name()).join(", ")}`,
    );
  const declared = command.registeredArguments;
  const minimum = declared.filter((argument) => argument.required).length;
  const variadic = declared.some((argument) => argument.variadic);
  if (positionals.length < minimum)
    return fail(
      `lifeboat ${path()} needs ${declared
        .filter((argument) => argument.required)
        .map((argument) => `<${argument.name()}>`)
        .join(" ")}; ${positionals.length} argument(s) given`,
    );
  if (!variadic && positionals.length > declared.length)
    return fail(
      `lifeboat ${path()} takes at most ${declared.length} argument(s); ${positionals.length} given`,
    );
  positionals.forEach((value, index) => {
    const argument = declared[Math.min(index, declared.length - 1)];
    if (argument && namesSources(argument.name())) sources.push(value);
  });
  const givenFlags = new Set([...given].map((option) => option.long));
  for (const option of chain.flatMap((each) => each.options)) {
    const unless = requiredUnlessFlag(option);
    if (unless !== undefined && !given.has(option) && !givenFlags.has(unless))
      return fail(`lifeboat ${path()} needs ${option.long ?? option.short}`);
    if (option.mandatory && !given.has(option) && option.defaultValue === undefined)
      return fail(`lifeboat ${path()} needs ${option.long ?? option.short}`);
  }
  const takesSource =
    declared.some((argument) => namesSources(argument.name())) ||
    command.options.some((option) => namesSources(option.attributeName()));
  return { ok: true, command: path(), takesSource, sources };
}
