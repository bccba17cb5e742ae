// nft's scanner (src/scanner.l), reduced: words, numbers, addresses, strings and the
// punctuation of the grammar, each with its line and columns for error carets.

export type TokKind = "word" | "num" | "addr" | "str" | "punct" | "nl" | "eof";

export interface Token {
  kind: TokKind;
  text: string;
  line: number;
  /** 1-based first and last column. */
  col: number;
  end: number;
}

export class LexError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly col: number,
    readonly end: number,
  ) {
    super(message);
  }
}

const PUNCT2 = ["==", "!=", "<=", ">="];
// Sticky patterns: matched at a position, no slice of the line per token.
const ADDR = /(\d+\.\d+\.\d+\.\d+)(?![\w])/y;
const NUM = /(0x[0-9a-fA-F]+|\d+)(?![A-Za-z0-9_])/y;
const DIGIT_WORD = /[0-9][A-Za-z0-9_]*/y;
const WORD = /[A-Za-z_][A-Za-z0-9_\-./]*[A-Za-z0-9_]|[A-Za-z_]/y;

function at(re: RegExp, s: string, i: number): RegExpExecArray | null {
  re.lastIndex = i;
  return re.exec(s);
}
const PUNCT1 = "{};,:.@=!&|^/-<>()*$+";

/** Splits nft input into tokens; a comment runs from # to the end of its line. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  const lines = text.split("\n");
  for (let li = 0; li < lines.length; li++) {
    const s = lines[li]!;
    let i = 0;
    const line = li + 1;
    let continued = false;
    while (i < s.length) {
      const c = s[i]!;
      if (c === " " || c === "\t" || c === "\r") {
        i++;
        continue;
      }
      if (c === "#") break;
      if (c === "\\" && /^\s*$/.test(s.slice(i + 1))) {
        continued = true;
        break;
      }
      // Every token ends where the next may start.
      const t = readToken(s, i, line);
      out.push(t);
      i = t.end;
    }
    if (!continued) out.push({ kind: "nl", text: "\n", line, col: s.length + 1, end: s.length + 1 });
  }
  const last = out.length ? out[out.length - 1]! : null;
  out.push({ kind: "eof", text: "", line: last ? last.line : 1, col: last ? last.end + 1 : 1, end: last ? last.end + 1 : 1 });
  return out;
}

/** The token starting at s[i] (not a blank, comment or line continuation). */
function readToken(s: string, i: number, line: number): Token {
  const c = s[i]!;
  if (c === '"') {
    const j = s.indexOf('"', i + 1);
    if (j < 0) throw new LexError("syntax error, unexpected junk", line, i + 1, s.length);
    return { kind: "str", text: s.slice(i + 1, j), line, col: i + 1, end: j + 1 };
  }
  if (c >= "0" && c <= "9") {
    const m = at(ADDR, s, i) ?? at(NUM, s, i);
    if (m) return { kind: m[1]!.includes(".") ? "addr" : "num", text: m[1]!, line, col: i + 1, end: i + m[1]!.length };
    // A word starting with a digit (nft: "string"), e.g. 5m, 10s.
    const w = at(DIGIT_WORD, s, i)![0];
    return { kind: "word", text: w, line, col: i + 1, end: i + w.length };
  }
  if ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_") {
    const w = at(WORD, s, i)![0];
    return { kind: "word", text: w, line, col: i + 1, end: i + w.length };
  }
  const two = s.slice(i, i + 2);
  if (PUNCT2.includes(two)) return { kind: "punct", text: two, line, col: i + 1, end: i + 2 };
  if (PUNCT1.includes(c)) return { kind: "punct", text: c, line, col: i + 1, end: i + 1 };
  throw new LexError("syntax error, unexpected junk", line, i + 1, i + 1);
}
