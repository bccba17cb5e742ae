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

/** [A-Za-z_] */
function wordStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
/** [A-Za-z0-9_] (\w) */
function wordChar(c: number): boolean {
  return wordStart(c) || (c >= 48 && c <= 57);
}
function digit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function hexDigit(c: number): boolean {
  return digit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

/** End of WORD at i: [A-Za-z_][A-Za-z0-9_\-./]*[A-Za-z0-9_] or one [A-Za-z_] (the run back to its last \w). */
function wordEnd(s: string, i: number): number {
  let j = i + 1;
  let end = j;
  for (; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (wordChar(c)) end = j + 1;
    else if (c !== 45 && c !== 46 && c !== 47) break;
  }
  return end;
}

/** End of ADDR at i (four dotted digit runs, no \w after), or -1. */
function addrEnd(s: string, i: number): number {
  let j = i;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (s.charCodeAt(j) !== 46) return -1;
      j++;
    }
    const from = j;
    while (j < s.length && digit(s.charCodeAt(j))) j++;
    if (j === from) return -1;
  }
  return j < s.length && wordChar(s.charCodeAt(j)) ? -1 : j;
}

/** End of NUM at i (0x hex digits, or digits; no \w after), or -1. */
function numEnd(s: string, i: number): number {
  if (s.charCodeAt(i) === 48 && s.charCodeAt(i + 1) === 120 && hexDigit(s.charCodeAt(i + 2))) {
    let j = i + 2;
    while (j < s.length && hexDigit(s.charCodeAt(j))) j++;
    if (!(j < s.length && wordChar(s.charCodeAt(j)))) return j;
  }
  let j = i;
  while (j < s.length && digit(s.charCodeAt(j))) j++;
  return j < s.length && wordChar(s.charCodeAt(j)) ? -1 : j;
}

/** The token starting at s[i] (not a blank, comment or line continuation). */
function readToken(s: string, i: number, line: number): Token {
  const c = s[i]!;
  const code = s.charCodeAt(i);
  if (c === '"') {
    const j = s.indexOf('"', i + 1);
    if (j < 0) throw new LexError("syntax error, unexpected junk", line, i + 1, s.length);
    return { kind: "str", text: s.slice(i + 1, j), line, col: i + 1, end: j + 1 };
  }
  if (digit(code)) {
    const a = addrEnd(s, i);
    if (a >= 0) return { kind: "addr", text: s.slice(i, a), line, col: i + 1, end: a };
    const n = numEnd(s, i);
    if (n >= 0) return { kind: "num", text: s.slice(i, n), line, col: i + 1, end: n };
    // A word starting with a digit (nft: "string"), e.g. 5m, 10s.
    let j = i + 1;
    while (j < s.length && wordChar(s.charCodeAt(j))) j++;
    return { kind: "word", text: s.slice(i, j), line, col: i + 1, end: j };
  }
  if (wordStart(code)) {
    const j = wordEnd(s, i);
    return { kind: "word", text: s.slice(i, j), line, col: i + 1, end: j };
  }
  if (s.charCodeAt(i + 1) === 61 && (c === "=" || c === "!" || c === "<" || c === ">")) return { kind: "punct", text: c + "=", line, col: i + 1, end: i + 2 };
  if (PUNCT1.includes(c)) return { kind: "punct", text: c, line, col: i + 1, end: i + 1 };
  throw new LexError("syntax error, unexpected junk", line, i + 1, i + 1);
}
