// Splitting a scenario line the way a shell would, without ever running a shell:
// quotes, backslashes, comments, `;`, `&&`, a trailing `&`, pipes and redirections.
// What bash would run rather than split — command substitution `$(...)` and backticks,
// arithmetic `$((...))`, process substitution `<(...)`, subshells — is refused as not
// modelled. The scan is one pass with no recursion, so no nesting can exhaust the stack.
export interface ShellCommand {
  argv: string[];
  background: boolean;
  /** The command writes into or reads from a pipe or a file (`|`, `>`, `<`). */
  piped: boolean;
}

export class ShellSyntaxError extends Error {}
/** Shell syntax bash would act on (run a command, open a subshell) that pktpath does not model. */
export class ShellNotModelled extends ShellSyntaxError {}

/** Characters that end a run of plain word characters. */
const SPECIAL = new Set([..."'\"\\# \t;&|<>$`()"]);

/** The text of a substitution starting at `i`, for the message (cut when long). */
function excerpt(line: string, i: number): string {
  let depth = 0;
  let j = i;
  for (; j < line.length && j - i < 64; j++) {
    const c = line[j];
    if (c === "(") depth++;
    else if (c === ")" && --depth <= 0) break;
    else if (c === "`" && j > i) break;
  }
  const text = line.slice(i, j + 1);
  return j - i >= 64 ? `${text}...` : text;
}

function notModelled(what: string, line: string, i: number): ShellNotModelled {
  return new ShellNotModelled(`${what} is not modelled by pktpath: \`${excerpt(line, i)}'`);
}

/** What follows `$` for bash to expand a parameter: a name, `{`, a digit or a special parameter. */
const PARAM_START = /[A-Za-z_{0-9?$!#@*-]/;

/** `$(`, `$((`, `$NAME`, `${...}` or a backtick at i (unquoted or inside double quotes): refused. */
function checkSubstitution(line: string, i: number): void {
  const c = line[i];
  if (c === "`") throw notModelled("command substitution `...`", line, i);
  if (c !== "$") return;
  const d = line[i + 1];
  if (d === "(") {
    if (line[i + 2] === "(") throw notModelled("arithmetic expansion $((...))", line, i);
    throw notModelled("command substitution $(...)", line, i);
  }
  if (d !== undefined && PARAM_START.test(d)) {
    const m = /^\$(\{[^}]{0,60}\}?|[A-Za-z_][A-Za-z0-9_]{0,60}|.)/.exec(line.slice(i, i + 64));
    throw new ShellNotModelled(`parameter expansion ${m ? m[0] : "$"} is not modelled by pktpath (shell variables are not kept): write the value`);
  }
}

/**
 * The body of a here-document whose delimiter is not quoted (`<<EOF`): bash expands
 * `$...` and backticks in it before the command reads it. Refuses what it would expand;
 * returns nothing when the body reads as written. A backslash keeps `$`, `` ` `` and `\`.
 */
export function checkHereDocument(body: string): void {
  const at = hereDocumentExpansion(body);
  if (at >= 0) checkSubstitution(body, at);
}

/** `\`, `$` or a backtick: what the here-document scan stops at. */
const HEREDOC_SPECIAL = /[\\$`]/g;

/**
 * The offset of the first `$` or backtick in an unquoted here-document's body that bash
 * would expand (checkSubstitution refuses it), or -1. One pass: the regular expression
 * jumps from one `\`, `$` or backtick to the next, so a 50 MB body is scanned at the
 * speed of a string search. A lone `$` (before a space, a quote, the end) is kept as
 * written, as bash keeps it.
 */
export function hereDocumentExpansion(body: string): number {
  const re = new RegExp(HEREDOC_SPECIAL);
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) {
    const i = m.index;
    if (body[i] === "\\") re.lastIndex = i + 2;
    else {
      try {
        checkSubstitution(body, i);
      } catch (e) {
        if (e instanceof ShellSyntaxError) return i;
        throw e;
      }
    }
  }
  return -1;
}

export interface SplitOptions {
  /**
   * The text is a tool's own input, read as written (a here-document with a quoted
   * delimiter, or already checked by checkHereDocument): `$` and backticks are plain.
   */
  literal?: boolean;
}

export function splitLine(line: string, options: SplitOptions = {}): ShellCommand[] {
  return new Splitter(line, options.literal === true).split();
}

/** splitLine's scan: the commands so far, the words of the current one and the word being read. */
class Splitter {
  readonly out: ShellCommand[] = [];
  argv: string[] = [];
  word = "";
  inWord = false;
  piped = false;

  constructor(
    readonly line: string,
    readonly literal: boolean,
  ) {}

  split(): ShellCommand[] {
    const line = this.line;
    const n = line.length;
    // Each reader returns the index of the last character it took.
    for (let i = 0; i < n; i++) {
      const c = line[i]!;
      if (!SPECIAL.has(c)) i = this.plain(i);
      else if (c === "'") i = this.singleQuoted(i);
      else if (c === '"') i = this.doubleQuoted(i);
      else if (c === "\\") {
        if (i + 1 < n) this.word += line[++i];
        this.inWord = true;
      } else if (c === "#" && !this.inWord) break;
      else if (c === " " || c === "\t") this.endWord();
      else i = this.operator(c, i);
    }
    this.endCommand(false);
    return this.out;
  }

  endWord(): void {
    if (this.inWord) this.argv.push(this.word);
    this.word = "";
    this.inWord = false;
  }

  endCommand(background: boolean): void {
    this.endWord();
    if (this.argv.length) this.out.push({ argv: this.argv, background, piped: this.piped });
    else if (background) throw new ShellSyntaxError("syntax error near unexpected token `&'");
    this.argv = [];
    this.piped = false;
  }

  /** A run of plain characters, taken in one slice. */
  plain(i: number): number {
    const line = this.line;
    let j = i + 1;
    while (j < line.length && !SPECIAL.has(line[j]!)) j++;
    this.word += line.slice(i, j);
    this.inWord = true;
    return j - 1;
  }

  singleQuoted(i: number): number {
    const end = this.line.indexOf("'", i + 1);
    if (end < 0) throw new ShellSyntaxError("unexpected EOF while looking for matching `''");
    this.word += this.line.slice(i + 1, end);
    this.inWord = true;
    return end;
  }

  /** "...": a backslash quotes only " \ $ and `; $ and ` are checked unless literal. */
  doubleQuoted(i: number): number {
    const line = this.line;
    const n = line.length;
    let j = i + 1;
    let from = j;
    for (; j < n && line[j] !== '"'; j++) {
      const d = line[j]!;
      if (d === "\\" && j + 1 < n && '"\\$`'.includes(line[j + 1]!)) {
        this.word += line.slice(from, j);
        from = ++j;
      } else if ((d === "$" || d === "`") && !this.literal) checkSubstitution(line, j);
    }
    if (j >= n) throw new ShellSyntaxError('unexpected EOF while looking for matching `"\'');
    this.word += line.slice(from, j);
    this.inWord = true;
    return j;
  }

  /** ; & && | $ ` ( ) > <: command separators, pipes and redirections, and what is refused. */
  operator(c: string, i: number): number {
    const line = this.line;
    if (c === ";") this.endCommand(false);
    else if (c === "&") {
      if (line[i + 1] === "&") {
        this.endCommand(false);
        return i + 1;
      }
      this.endCommand(true);
    } else if (c === "|") {
      if (line[i + 1] === "|") throw new ShellSyntaxError("`||' is not supported in a scenario line");
      this.piped = true;
      this.endWord();
      this.argv.push("|");
    } else if (c === "$" || c === "`") {
      if (!this.literal) checkSubstitution(line, i);
      this.word += c;
      this.inWord = true;
    } else if (c === "(" || c === ")") {
      if (c === "(" && !this.inWord && this.argv.length === 0) throw notModelled("a subshell ( ... )", line, i);
      throw new ShellSyntaxError(`syntax error near unexpected token \`${c}'`);
    } else if (c === ">" || c === "<") {
      if (line[i + 1] === "(") throw notModelled(`process substitution ${c}(...)`, line, i);
      this.piped = true;
      this.endWord();
      this.argv.push(c);
    }
    return i;
  }
}
