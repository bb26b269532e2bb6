// Does a program's source define a subcommand? The ways Python and
// JavaScript command lines declare them: argparse's add_parser("sub"),
// click/typer's @app.command("sub") (or a bare @app.command() above
// `def sub(`, whose name click and typer turn into sub, underscores as
// dashes), and commander's .command("sub ...").

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function definesSubcommand(source: string, sub: string): boolean {
  const name = escape(sub);
  const quoted = `["'\`]${name}(?=["'\`\\s])`;
  const explicit = [
    new RegExp(`add_parser\\(\\s*(?:name\\s*=\\s*)?${quoted}`),
    new RegExp(`@[\\w.]+\\.(?:command|group)\\(\\s*(?:name\\s*=\\s*)?${quoted}`),
    new RegExp(`\\.command\\(\\s*${quoted}`),
  ];
  if (explicit.some((pattern) => pattern.test(source))) return true;
  // A bare decorator names the command after the function it decorates.
  const lines = source.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    if (!/^\s*@[\w.]+\.(command|group)(\(\s*\))?\s*$/.test(lines[index]!)) continue;
    let next = index + 1;
    while (next < lines.length && /^\s*@/.test(lines[next]!)) next++;
    const def = /^\s*(?:async\s+)?def\s+(\w+)\s*\(/.exec(lines[next] ?? "");
    if (def && (def[1] === sub || def[1]!.replace(/_/g, "-") === sub)) return true;
  }
  return false;
}

/** Top-level definitions of `name` in a Python or JavaScript/TypeScript module. */
export function definesCallable(source: string, name: string): boolean {
  const id = escape(name);
  return [
    new RegExp(`^(?:async\\s+)?def\\s+${id}\\s*\\(`, "m"),
    new RegExp(`^class\\s+${id}\\b`, "m"),
    new RegExp(`^${id}\\s*(?::[^=\\n]*)?=(?!=)`, "m"),
    new RegExp(`^export\\s+(?:default\\s+)?(?:async\\s+)?function\\*?\\s+${id}\\b`, "m"),
    new RegExp(`^export\\s+(?:const|let|var|class)\\s+${id}\\b`, "m"),
    new RegExp(`^export\\s*\\{[^}]*\\b${id}\\b[^}]*\\}`, "m"),
  ].some((pattern) => pattern.test(source));
}
