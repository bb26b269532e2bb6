// Reading the commands of a shell block without running it: `\` continuations
// joined, comments dropped, quotes honoured, and lines split at `;`, `&&`,
// `||` and `|` into simple commands. Leading `sudo`, `env`, `exec`, `time` and
// VAR=value assignments are stripped, so `sudo -E LIFEBOAT_CONFIG=x lifeboat
// backup` is the command `lifeboat backup`.

export interface ShellCommand {
  /** The block line (1-based in the file) the command starts on. */
  readonly line: number;
  /** The words after the stripped prefixes; the program first. */
  readonly words: readonly string[];
}

const separators = new Set([";", "&&", "||", "|", "&"]);

/** Words of one logical line, quotes removed; separators are words of their own; a `#` word starts a comment. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let dropNext = false;
  const flush = () => {
    if (inWord && dropNext) dropNext = false;
    else if (inWord) words.push(word);
    word = "";
    inWord = false;
  };
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (char === "'" || char === '"') {
      const end = text.indexOf(char, index + 1);
      const stop = end < 0 ? text.length : end;
      word += text.slice(index + 1, stop);
      inWord = true;
      index = stop;
    } else if (char === "\\" && index + 1 < text.length) {
      word += text[++index];
      inWord = true;
    } else if (/\s/.test(char)) flush();
    else if (char === "#" && !inWord) break;
    else if (char === "<" && /^<[\w.:/@-]+>/.test(text.slice(index))) {
      // <snapshot_id>: a placeholder the reader fills in, not a redirection.
      const end = text.indexOf(">", index);
      word += text.slice(index, end + 1);
      inWord = true;
      index = end;
    } else if (char === "<" || char === ">") {
      // A redirection is no argument: drop it, its file descriptor and its target.
      if (/^\d+$/.test(word)) inWord = false;
      flush();
      while (text[index + 1] === ">" || text[index + 1] === "<") index++;
      const duplicate = /^&\d+|^&-/.exec(text.slice(index + 1));
      if (duplicate) index += duplicate[0].length;
      else dropNext = true;
    } else if (";&|".includes(char)) {
      flush();
      const pair = text.slice(index, index + 2);
      const separator = pair === "&&" || pair === "||" ? pair : char;
      words.push(separator);
      index += separator.length - 1;
    } else {
      word += char;
      inWord = true;
    }
  }
  flush();
  return words;
}

function stripPrefixes(words: readonly string[]): string[] {
  let rest = [...words];
  for (;;) {
    const first = rest[0];
    if (first === undefined) return rest;
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(first)) rest = rest.slice(1);
    else if (first === "sudo" || first === "env") {
      rest = rest.slice(1);
      while (rest[0]?.startsWith("-")) rest = rest.slice(rest[0] === "-u" ? 2 : 1);
    } else if (first === "exec" || first === "time" || first === "command") rest = rest.slice(1);
    else return rest;
  }
}

/** Every simple command of a block whose first line is `firstLine` in the file. */
export function shellCommands(block: string, firstLine: number): ShellCommand[] {
  const commands: ShellCommand[] = [];
  const lines = block.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = firstLine + index;
    let text = lines[index]!;
    while (/\\\s*$/.test(text) && index + 1 < lines.length) {
      text = text.replace(/\\\s*$/, " ") + lines[++index];
    }
    let current: string[] = [];
    for (const word of [...shellWords(text), ";"]) {
      if (!separators.has(word)) current.push(word);
      else {
        const words = stripPrefixes(current);
        if (words.length > 0) commands.push({ line, words });
        current = [];
      }
    }
  }
  return commands;
}

/** The words after `lifeboat` when the command runs Lifeboat (`lifeboat`, `/usr/bin/lifeboat`, `npx lifeboat`). */
export function lifeboatArgs(command: ShellCommand): string[] | undefined {
  const words = command.words[0] === "npx" ? command.words.slice(1) : command.words;
  return words[0] !== undefined && baseName(words[0]) === "lifeboat" ? words.slice(1) : undefined;
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}
