// The lines `ipvsadm -S` writes (and kube-proxy's restores), read without the shell
// splitter and popt's general walk: `-A -t VIP:PORT -s rr [-p N]` and
// `-a -t VIP:PORT -r RIP:PORT -m -w 1 [-x N -y N]`. fastParse gives exactly what
// parse() gives for such a line, or null whenever the line is anything else (a quote,
// a name, an option given twice, a value parse() would refuse...): then the caller runs
// the whole parser, which says what is wrong in its own words. test/ipvs/fast.test.ts
// checks the two agree.
import { IPPROTO_TCP, IPPROTO_UDP } from "../../wire/packet.ts";
import { emptyParsed, type Parsed } from "./parse.ts";

/**
 * The characters a word may have here: with only these and blanks the shell splits the
 * line at its blanks and nowhere else (no quote, backslash, #, $, operator...).
 */
const WORD = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:,/+=@%-") WORD[c.charCodeAt(0)] = 1;

/** At most this many words on a line the fast path reads (more: the whole parser). */
const MAX_WORDS = 32;
/** Where each word starts and ends (scratch, used by one call at a time). */
const bounds = new Int32Array(2 * MAX_WORDS);

/** Marks the line's words (split at blanks) in `bounds`; their count, or -1 when a character is not plain. */
function plainWords(line: string): number {
  let n = 0;
  let start = -1;
  for (let i = 0; i <= line.length; i++) {
    const c = i < line.length ? line.charCodeAt(i) : 32;
    if (c === 32 || c === 9) {
      if (start < 0) continue;
      if (n === MAX_WORDS) return -1;
      bounds[2 * n] = start;
      bounds[2 * n + 1] = i;
      n++;
      start = -1;
    } else if (c < 128 && WORD[c] === 1) {
      if (start < 0) start = i;
    } else return -1;
  }
  return n;
}

/** A decimal number of at most `maxDigits` digits in w[from, to) (what /^\d+$/ takes), else -1. */
function decimal(w: string, maxDigits: number, from: number, to: number): number {
  if (to <= from || to - from > maxDigits) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = w.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * A.B.C.D:PORT in w[from, to) with decimal octets and port (what hostPort() takes
 * without a service name) as addr * 65536 + port, else -1.
 */
function addrPort(w: string, from: number, to: number): number {
  let addr = 0;
  for (let k = 0; k < 4; k++) {
    const end = w.indexOf(k < 3 ? "." : ":", from);
    const o = end < 0 || end >= to ? -1 : decimal(w, 3, from, end);
    if (o < 0 || o > 255) return -1;
    addr = addr * 256 + o;
    from = end + 1;
  }
  const port = decimal(w, 5, from, to);
  return port < 0 || port > 65535 ? -1 : addr * 65536 + port;
}

/** The schedulers' names as constants (no string made for the usual ones). */
const SCHEDS = ["rr", "wrr", "lc", "wlc", "sh", "dh", "mh", "sed", "nq", "lblc", "lblcr", "fo", "ovf"];

/** The word w[from, to) as a string. */
function word(w: string, from: number, to: number): string {
  for (const name of SCHEDS) if (name.length === to - from && w.startsWith(name, from)) return name;
  return w.slice(from, to);
}

/** Options by their letter: the bit that sees one given twice (-t and -u share one: one service a line). */
const BIT: Partial<Record<string, number>> = { t: 1, u: 1, r: 2, s: 4, w: 8, x: 16, y: 32, p: 64, m: 128, g: 128, i: 128 };
const FWD = { m: "masq", g: "droute", i: "tunnel" } as const;

/** One option (letter) and its argument w[from, to) into p; false: not for the fast path. */
function option(p: Parsed, letter: string, w: string, from: number, to: number): boolean {
  if (letter === "t" || letter === "u" || letter === "r") {
    const ap = addrPort(w, from, to);
    if (ap < 0) return false;
    if (letter === "r") {
      p.raddr = Math.floor(ap / 65536);
      p.rport = ap % 65536;
      return true;
    }
    p.proto = letter === "t" ? IPPROTO_TCP : IPPROTO_UDP;
    p.vaddr = Math.floor(ap / 65536);
    p.vport = ap % 65536;
    p.hasService = true;
    return true;
  }
  if (letter === "s") {
    if (w.charCodeAt(from) === 45) return false;
    p.sched = word(w, from, to);
    return true;
  }
  // -w, -x, -y, -p N: numbers parse() takes as they are.
  const v = decimal(w, 9, from, to);
  if (v < 0) return false;
  if (letter === "w" && v <= 65535) p.weight = v;
  else if (letter === "x") p.uThr = v;
  else if (letter === "y") p.lThr = v;
  else if (letter === "p" && v >= 1) p.persistent = v;
  else return false;
  return true;
}

/** What parse() would give for this (trimmed) line, or null: read it with parse(). */
export function fastParse(line: string): Parsed | null {
  const n = plainWords(line);
  // The command first: -A or -a, a word of its own.
  if (n < 1 || bounds[1] !== 2 || line.charCodeAt(0) !== 45) return null;
  const c = line[1];
  if (c !== "A" && c !== "a") return null;
  const p = emptyParsed();
  p.cmd = c;
  let seen = 0;
  for (let i = 1; i < n; i++) {
    const from = bounds[2 * i]!;
    if (bounds[2 * i + 1]! - from !== 2 || line.charCodeAt(from) !== 45) return null;
    const letter = line[from + 1]!;
    const bit = BIT[letter];
    // An unknown option, one given twice, two forwarding methods: parse() decides.
    if (bit === undefined || seen & bit) return null;
    seen |= bit;
    if (bit === 128) p.fwd = FWD[letter as keyof typeof FWD];
    else if (++i >= n || !option(p, letter, line, bounds[2 * i]!, bounds[2 * i + 1]!)) return null;
  }
  return p;
}
