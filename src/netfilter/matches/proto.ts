// The protocol matches loaded by -p: tcp (xt_tcpudp.c), udp, icmp (ipt_icmp).
import { IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from "../../wire/packet.ts";
import type { MatchSpec } from "../types.ts";
import { formatPortRange, type MatchExt, ParseError, parsePortRange, portName } from "../ext.ts";

const FLAG_BITS: Record<string, number> = { FIN: TCP_FIN, SYN: TCP_SYN, RST: TCP_RST, PSH: TCP_PSH, ACK: TCP_ACK, URG: 0x20, ALL: 0x3f, NONE: 0 };
const FLAG_ORDER = ["FIN", "SYN", "RST", "PSH", "ACK", "URG"];

function parseFlags(text: string): number {
  let v = 0;
  for (const f of text.split(",")) {
    const bit = FLAG_BITS[f.toUpperCase()];
    if (bit === undefined) throw new ParseError(`Unknown TCP flag \`${f}'`);
    v |= bit;
  }
  return v;
}

function flagNames(v: number): string {
  if (v === 0) return "NONE";
  if (v === 0x3f) return "FIN,SYN,RST,PSH,ACK,URG";
  return FLAG_ORDER.filter((f) => v & FLAG_BITS[f]!).join(",");
}

function ports(spec: MatchSpec, key: string): [number, number] | null {
  const v = spec.opts[key];
  return Array.isArray(v) ? (v as number[]) as [number, number] : null;
}

function portSave(spec: MatchSpec, key: string, opt: string): string {
  const r = ports(spec, key);
  return r ? ` ${spec.opts["!" + key] ? "! " : ""}--${opt} ${formatPortRange(r)}` : "";
}

function portList(spec: MatchSpec, key: string, word: string, numeric: boolean): string {
  const r = ports(spec, key);
  if (!r) return "";
  const inv = spec.opts["!" + key] ? "!" : "";
  return r[0] === r[1] ? ` ${word}:${inv}${portName(r[0], numeric)}` : ` ${word}s:${inv}${portName(r[0], numeric)}:${portName(r[1], numeric)}`;
}

function portMatch(spec: MatchSpec, key: string): ((p: number) => boolean) | null {
  const r = ports(spec, key);
  if (!r) return null;
  const [lo, hi] = r;
  const inv = !!spec.opts["!" + key];
  return (p) => (p >= lo && p <= hi) !== inv;
}

function portExt(name: "tcp" | "udp", proto: number): MatchExt {
  return {
    name,
    options: {
      sport: { arg: true, invertible: true },
      "source-port": { arg: true, invertible: true },
      dport: { arg: true, invertible: true },
      "destination-port": { arg: true, invertible: true },
      ...(name === "tcp" ? { "tcp-flags": { arg: true, invertible: true, twoArgs: true }, syn: { arg: false, invertible: true } } : {}),
    },
    check(_spec, rule) {
      if (rule.proto !== proto || rule.protoInv) throw new ParseError(`${name.toUpperCase()} match requires '-p ${name}'`);
    },
    parse(spec, opt, value, inv) {
      if (opt === "sport" || opt === "source-port" || opt === "dport" || opt === "destination-port") {
        const key = opt.startsWith("s") ? "sport" : "dport";
        if (spec.opts[key]) throw new ParseError(`multiple --${key} flags not allowed`);
        spec.opts[key] = parsePortRange(value!, "port", name, true);
        if (inv) spec.opts["!" + key] = true;
      } else if (opt === "syn") {
        spec.opts["flagsMask"] = TCP_FIN | TCP_SYN | TCP_RST | TCP_ACK;
        spec.opts["flagsCmp"] = TCP_SYN;
        if (inv) spec.opts["!flags"] = true;
      } else if (opt === "tcp-flags") {
        const [mask, cmp] = value!.split(" ");
        spec.opts["flagsMask"] = parseFlags(mask!);
        spec.opts["flagsCmp"] = parseFlags(cmp ?? "NONE");
        if (inv) spec.opts["!flags"] = true;
      }
    },
    save(spec) {
      let s = portSave(spec, "sport", "sport") + portSave(spec, "dport", "dport");
      if (spec.opts["flagsMask"] !== undefined) {
        s += ` ${spec.opts["!flags"] ? "! " : ""}--tcp-flags ${flagNames(Number(spec.opts["flagsMask"]))} ${flagNames(Number(spec.opts["flagsCmp"]))}`;
      }
      return s.trimStart();
    },
    list(spec, numeric) {
      let s = name + portList(spec, "sport", "spt", numeric) + portList(spec, "dport", "dpt", numeric);
      if (spec.opts["flagsMask"] !== undefined) {
        s += ` flags:${spec.opts["!flags"] ? "!" : ""}0x${Number(spec.opts["flagsMask"]).toString(16).toUpperCase().padStart(2, "0")}/0x${Number(spec.opts["flagsCmp"]).toString(16).toUpperCase().padStart(2, "0")}`;
      }
      return s;
    },
    compile(spec) {
      const sp = portMatch(spec, "sport");
      const dp = portMatch(spec, "dport");
      const fm = spec.opts["flagsMask"] !== undefined ? Number(spec.opts["flagsMask"]) : -1;
      const fc = Number(spec.opts["flagsCmp"] ?? 0);
      const finv = !!spec.opts["!flags"];
      return (pkt) => {
        if (pkt.proto !== proto) return false;
        if (sp && !sp(pkt.sport)) return false;
        if (dp && !dp(pkt.dport)) return false;
        if (fm >= 0 && ((pkt.tcpFlags & fm) === fc) === finv) return false;
        return true;
      };
    },
  };
}

export const tcpMatch = portExt("tcp", IPPROTO_TCP);
export const udpMatch = portExt("udp", IPPROTO_UDP);

const ICMP_TYPES: Record<string, [number, number]> = {
  any: [255, -1],
  "echo-reply": [0, -1],
  pong: [0, -1],
  "destination-unreachable": [3, -1],
  "network-unreachable": [3, 0],
  "host-unreachable": [3, 1],
  "protocol-unreachable": [3, 2],
  "port-unreachable": [3, 3],
  "fragmentation-needed": [3, 4],
  "network-prohibited": [3, 9],
  "host-prohibited": [3, 10],
  "communication-prohibited": [3, 13],
  redirect: [5, -1],
  "echo-request": [8, -1],
  ping: [8, -1],
  "time-exceeded": [11, -1],
  "ttl-exceeded": [11, -1],
  "parameter-problem": [12, -1],
};

export const icmpMatch: MatchExt = {
  name: "icmp",
  options: { "icmp-type": { arg: true, invertible: true } },
  parse(spec, _opt, value, inv) {
    const named = ICMP_TYPES[value!];
    let type: number;
    let code: number;
    if (named) [type, code] = named;
    else {
      const m = /^(\d+)(?:\/(\d+))?$/.exec(value!);
      if (!m) throw new ParseError(`Invalid ICMP type \`${value}'`);
      type = Number(m[1]);
      code = m[2] === undefined ? -1 : Number(m[2]);
    }
    spec.opts["type"] = type;
    spec.opts["code"] = code;
    if (inv) spec.opts["!type"] = true;
  },
  save(spec) {
    const t = Number(spec.opts["type"]);
    const c = Number(spec.opts["code"]);
    const v = t === 255 ? "any" : c >= 0 ? `${t}/${c}` : String(t);
    return `${spec.opts["!type"] ? "! " : ""}--icmp-type ${v}`;
  },
  list(spec, numeric) {
    const t = Number(spec.opts["type"]);
    const c = Number(spec.opts["code"]);
    const inv = spec.opts["!type"] ? "!" : "";
    if (t === 255) return numeric ? `icmptype ${inv}any` : `icmp ${inv}any`;
    if (!numeric) {
      const name = Object.keys(ICMP_TYPES).find((k) => ICMP_TYPES[k]![0] === t && ICMP_TYPES[k]![1] === c && !["pong", "ping", "ttl-exceeded"].includes(k));
      if (name) return `icmp ${inv}${name}`;
    }
    return `icmp${inv ? " !" : ""}type ${t}${c >= 0 ? ` code ${c}` : ""}`;
  },
  compile(spec) {
    const t = Number(spec.opts["type"]);
    const c = Number(spec.opts["code"]);
    const inv = !!spec.opts["!type"];
    return (pkt) => {
      if (pkt.proto !== 1) return false;
      const hit = t === 255 || (pkt.icmpType === t && (c < 0 || pkt.icmpCode === c));
      return hit !== inv;
    };
  },
};
