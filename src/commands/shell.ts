// Splitting a scenario line the way a shell would, without ever running a shell:
// quotes, backslashes, comments, `;`, `&&`, a trailing `&`, pipes and redirections.
export interface ShellCommand {
  argv: string[];
  background: boolean;
  /** The command writes into or reads from a pipe or a file (`|`, `>`, `<`). */
  piped: boolean;
}

export class ShellSyntaxError extends Error {}

export function splitLine(line: string): ShellCommand[] {
  const out: ShellCommand[] = [];
  let argv: string[] = [];
  let word = "";
  let inWord = false;
  let piped = false;
  const endWord = () => {
    if (inWord) argv.push(word);
    word = "";
    inWord = false;
  };
  const endCommand = (background: boolean) => {
    endWord();
    if (argv.length) out.push({ argv, background, piped });
    else if (background) throw new ShellSyntaxError("syntax error near unexpected token `&'");
    argv = [];
    piped = false;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ShellSyntaxError("unexpected EOF while looking for matching `''");
      word += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === "\\" && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
        word += line[j];
      }
      if (j >= line.length) throw new ShellSyntaxError('unexpected EOF while looking for matching `"\'');
      inWord = true;
      i = j;
    } else if (c === "\\") {
      if (i + 1 < line.length) word += line[++i];
      inWord = true;
    } else if (c === "#" && !inWord) {
      break;
    } else if (c === " " || c === "\t") {
      endWord();
    } else if (c === ";") {
      endCommand(false);
    } else if (c === "&") {
      if (line[i + 1] === "&") {
        i++;
        endCommand(false);
      } else {
        endCommand(true);
      }
    } else if (c === "|") {
      if (line[i + 1] === "|") throw new ShellSyntaxError("`||' is not supported in a scenario line");
      piped = true;
      endWord();
      argv.push("|");
    } else if (c === ">" || c === "<") {
      piped = true;
      endWord();
      argv.push(c);
    } else {
      word += c;
      inWord = true;
    }
  }
  endCommand(false);
  return out;
}
