// The lines `ipvsadm -S` writes (and kube-proxy's restores), read without the shell
// splitter and popt's general walk: `-A -t VIP:PORT -s rr [-p N]` and
// `-a -t VIP:PORT -r RIP:PORT -m -w 1 [-x N -y N]`. fastParse gives exactly what
// parse() gives for such a line, or null whenever the line is anything else (a quote,
// a name, an option given twice, a value parse() would refuse...): then the caller runs
// the whole parser, which says what is wrong in its own words. test/ipvs/fast.test.ts
// checks the two agree.
import { IPPROTO_TCP, IPPROTO_UDP } from "../../wire/packet.ts";
import { emptyParsed, type Parsed } from "./parse.ts";

/** Only these characters: the shell splits such a line at its blanks and nowhere else. */
const PLAIN = /^[\w.:,/+=@%-]+(?:[ \t]+[\w.:,/+=@%-]+)*$/;
const BLANKS = /[ \t]+/;

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
const WITH_ARG = new Set(["-t", "-u", "-r", "-s", "-w", "-x", "-y", "-p"]);

/** What parse() would give for this (trimmed) line, or null: read it with parse(). */
export function fastParse(line: string): Parsed | null {
  if (!PLAIN.test(line)) return null;
  const w = line.split(BLANKS);
  const cmd = w[0];
  if (cmd !== "-A" && cmd !== "-a") return null;
  const p = emptyParsed();
  p.cmd = cmd === "-A" ? "A" : "a";
  const seen = new Set<string>();
  for (let i = 1; i < w.length; i++) {
    const opt = w[i]!;
    if (seen.has(opt) || (opt === "-u" && seen.has("-t")) || (opt === "-t" && seen.has("-u"))) return null;
    seen.add(opt);
    if (opt === "-m" || opt === "-g" || opt === "-i") {
      if ((seen.has("-m") && opt !== "-m") || (seen.has("-g") && opt !== "-g") || (seen.has("-i") && opt !== "-i")) return null;
      p.fwd = FWD[opt];
      continue;
    }
    if (!WITH_ARG.has(opt)) return null;
    if (!option(p, opt, w[++i])) return null;
  }
  return p;
}
