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
      if (c === "\\" && s.slice(i + 1).trim() === "") {
        continued = true;
        break;
      }
      const start = i;
      if (c === '"') {
        const j = s.indexOf('"', i + 1);
        if (j < 0) throw new LexError("syntax error, unexpected junk", line, i + 1, s.length);
        out.push({ kind: "str", text: s.slice(i + 1, j), line, col: i + 1, end: j + 1 });
        i = j + 1;
        continue;
      }
      if (/[0-9]/.test(c)) {
        const m = /^(\d+\.\d+\.\d+\.\d+)(?![\w])/.exec(s.slice(i)) ?? /^(0x[0-9a-fA-F]+|\d+)(?![A-Za-z0-9_])/.exec(s.slice(i));
        if (m) {
          const kind = m[1]!.includes(".") ? "addr" : "num";
          out.push({ kind, text: m[1]!, line, col: i + 1, end: i + m[1]!.length });
          i += m[1]!.length;
          continue;
        }
        // A word starting with a digit (nft: "string"), e.g. 5m, 10s.
        const w = /^[0-9][A-Za-z0-9_]*/.exec(s.slice(i))![0];
        out.push({ kind: "word", text: w, line, col: i + 1, end: i + w.length });
        i += w.length;
        continue;
      }
      if (/[A-Za-z_]/.test(c)) {
        const w = /^[A-Za-z_][A-Za-z0-9_\-./]*[A-Za-z0-9_]|^[A-Za-z_]/.exec(s.slice(i))![0];
        out.push({ kind: "word", text: w, line, col: start + 1, end: start + w.length });
        i += w.length;
        continue;
      }
      const two = s.slice(i, i + 2);
      if (PUNCT2.includes(two)) {
        out.push({ kind: "punct", text: two, line, col: i + 1, end: i + 2 });
        i += 2;
        continue;
      }
      if (PUNCT1.includes(c)) {
        out.push({ kind: "punct", text: c, line, col: i + 1, end: i + 1 });
        i++;
        continue;
      }
      throw new LexError("syntax error, unexpected junk", line, i + 1, i + 1);
    }
    if (!continued) out.push({ kind: "nl", text: "\n", line, col: s.length + 1, end: s.length + 1 });
  }
  const last = out.length ? out[out.length - 1]! : null;
  out.push({ kind: "eof", text: "", line: last ? last.line : 1, col: last ? last.end + 1 : 1, end: last ? last.end + 1 : 1 });
  return out;
}
