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

/** The line's words, split at blanks; null when a character is not plain. */
function plainWords(line: string): string[] | null {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9) {
      if (start >= 0) words.push(line.slice(start, i));
      start = -1;
    } else if (c < 128 && WORD[c] === 1) {
      if (start < 0) start = i;
    } else return null;
  }
  if (start >= 0) words.push(line.slice(start));
  return words;
}

/** A decimal number of at most `maxDigits` digits in w[from, to) (what /^\d+$/ takes), else -1. */
function decimal(w: string, maxDigits: number, from = 0, to = w.length): number {
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
 * A.B.C.D:PORT with decimal octets and port (what hostPort() takes without a service
 * name) as addr * 65536 + port, else -1.
 */
function addrPort(w: string): number {
  let addr = 0;
  let from = 0;
  for (let k = 0; k < 4; k++) {
    const end = k < 3 ? w.indexOf(".", from) : w.indexOf(":", from);
    const o = end < 0 ? -1 : decimal(w, 3, from, end);
    if (o < 0 || o > 255) return -1;
    addr = addr * 256 + o;
    from = end + 1;
  }
  const port = decimal(w, 5, from);
  return port < 0 || port > 65535 ? -1 : addr * 65536 + port;
}

/** One option of the line and its argument (if it takes one) into p; false: not for the fast path. */
function option(p: Parsed, opt: string, arg: string | undefined): boolean {
  switch (opt) {
    case "-t":
    case "-u": {
      const ap = arg === undefined ? -1 : addrPort(arg);
      if (ap < 0) return false;
      p.proto = opt === "-t" ? IPPROTO_TCP : IPPROTO_UDP;
      p.vaddr = Math.floor(ap / 65536);
      p.vport = ap % 65536;
      p.hasService = true;
      return true;
    }
    case "-r": {
      const ap = arg === undefined ? -1 : addrPort(arg);
      if (ap < 0) return false;
      p.raddr = Math.floor(ap / 65536);
      p.rport = ap % 65536;
      return true;
    }
    case "-s":
      if (arg === undefined || arg.startsWith("-")) return false;
      p.sched = arg;
      return true;
    default:
      return number(p, opt, arg);
  }
}

/** -w, -x, -y, -p N: numbers parse() takes as they are. */
function number(p: Parsed, opt: string, arg: string | undefined): boolean {
  const v = arg === undefined ? -1 : decimal(arg, 9);
  if (v < 0) return false;
  if (opt === "-w" && v <= 65535) p.weight = v;
  else if (opt === "-x") p.uThr = v;
  else if (opt === "-y") p.lThr = v;
  else if (opt === "-p" && v >= 1) p.persistent = v;
  else return false;
  return true;
}

const FWD = { "-m": "masq", "-g": "droute", "-i": "tunnel" } as const;
/** Each option's bit, to see one given twice (-t and -u share one: one service a line). */
const BIT: Partial<Record<string, number>> = { "-t": 1, "-u": 1, "-r": 2, "-s": 4, "-w": 8, "-x": 16, "-y": 32, "-p": 64, "-m": 128, "-g": 128, "-i": 128 };

/** What parse() would give for this (trimmed) line, or null: read it with parse(). */
export function fastParse(line: string): Parsed | null {
  const c0 = line.charCodeAt(1);
  if (line.charCodeAt(0) !== 45 || (c0 !== 65 && c0 !== 97) || (line.length > 2 && line.charCodeAt(2) !== 32 && line.charCodeAt(2) !== 9)) return null;
  const w = plainWords(line);
  if (w === null) return null;
  const p = emptyParsed();
  p.cmd = c0 === 65 ? "A" : "a";
  let seen = 0;
  for (let i = 1; i < w.length; i++) {
    const opt = w[i]!;
    const bit = BIT[opt];
    // An option twice (or two forwarding methods): parse() decides.
    if (bit === undefined || seen & bit) return null;
    seen |= bit;
    if (bit === 128) p.fwd = FWD[opt as keyof typeof FWD];
    else if (!option(p, opt, w[++i])) return null;
  }
  return p;
}
