// Matches on connection tracking state: conntrack (xt_conntrack.c) and state (xt_state.c).
import type { Packet } from "../../wire/packet.ts";
import { formatIPv4, maskOf, parsePrefix } from "../../wire/ipv4.ts";
import type { MatchSpec } from "../types.ts";
import { type MatchExt, ParseError, parsePortRange, formatPortRange } from "../ext.ts";
import {
  type Conn,
  IP_CT_ESTABLISHED,
  IP_CT_ESTABLISHED_REPLY,
  IP_CT_IS_REPLY,
  IP_CT_NEW,
  IP_CT_RELATED,
  IP_CT_RELATED_REPLY,
  IP_CT_UNTRACKED,
  IPS_ASSURED,
  IPS_CONFIRMED,
  IPS_DST_NAT,
  IPS_EXPECTED,
  IPS_SEEN_REPLY,
  IPS_SRC_NAT,
} from "../conntrack.ts";

const STATE_ORDER = ["INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED", "SNAT", "DNAT"];
const STATUS_BITS: Record<string, number> = { NONE: 0, EXPECTED: IPS_EXPECTED, SEEN_REPLY: IPS_SEEN_REPLY, ASSURED: IPS_ASSURED, CONFIRMED: IPS_CONFIRMED };

/** The state words that hold for this packet (xt_conntrack's statebit). */
export function stateBits(pkt: Packet): Set<string> {
  const out = new Set<string>();
  const ct = pkt.nfct as Conn | null;
  if (pkt.ctinfo === IP_CT_UNTRACKED) out.add("UNTRACKED");
  else if (!ct) out.add("INVALID");
  else {
    const info = pkt.ctinfo;
    if (info === IP_CT_NEW) out.add("NEW");
    else if (info === IP_CT_ESTABLISHED || info === IP_CT_ESTABLISHED_REPLY) out.add("ESTABLISHED");
    else if (info === IP_CT_RELATED || info === IP_CT_RELATED_REPLY) out.add("RELATED");
    if (ct.status & IPS_SRC_NAT) out.add("SNAT");
    if (ct.status & IPS_DST_NAT) out.add("DNAT");
  }
  return out;
}

function parseStates(value: string): string[] {
  const states = value.split(",");
  for (const s of states) if (!STATE_ORDER.includes(s)) throw new ParseError(`Bad ctstate "${s}"`);
  return STATE_ORDER.filter((s) => states.includes(s));
}

function stateTest(states: string[], inv: boolean): (pkt: Packet) => boolean {
  const want = new Set(states);
  return (pkt) => {
    let hit = false;
    for (const s of stateBits(pkt)) if (want.has(s)) hit = true;
    return hit !== inv;
  };
}

const ADDR_OPTS = ["ctorigsrc", "ctorigdst", "ctreplsrc", "ctrepldst"];
const PORT_OPTS = ["ctorigsrcport", "ctorigdstport", "ctreplsrcport", "ctrepldstport"];

export const conntrackMatch: MatchExt = {
  name: "conntrack",
  conntrack: true,
  options: Object.fromEntries(
    ["ctstate", "ctproto", "ctstatus", "ctdir", ...ADDR_OPTS, ...PORT_OPTS].map((o) => [o, { arg: true, invertible: o !== "ctdir" }]),
  ),
  parse(spec, opt, value, inv) {
    const v = value!;
    if (opt === "ctstate") spec.opts[opt] = parseStates(v);
    else if (opt === "ctstatus") {
      const list = v.split(",");
      for (const s of list) if (STATUS_BITS[s] === undefined) throw new ParseError(`Bad ctstatus "${s}"`);
      spec.opts[opt] = list;
    } else if (opt === "ctdir") {
      if (v !== "ORIGINAL" && v !== "REPLY") throw new ParseError(`Bad ctdir "${v}"`);
      spec.opts[opt] = v;
    } else if (opt === "ctproto") {
      spec.opts[opt] = v === "tcp" ? 6 : v === "udp" ? 17 : v === "icmp" ? 1 : Number(v);
    } else if (ADDR_OPTS.includes(opt)) {
      const p = parsePrefix(v);
      if (!p) throw new ParseError(`host/network \`${v}' not found`);
      spec.opts[opt] = [p.addr, p.plen];
    } else {
      spec.opts[opt] = parsePortRange(v);
    }
    if (inv) spec.opts["!" + opt] = true;
  },
  // libxt_conntrack's final check.
  final(spec) {
    if (!Object.keys(spec.opts).length) throw new ParseError("conntrack: At least one option is required");
  },
  save(spec) {
    const parts: string[] = [];
    const inv = (o: string) => (spec.opts["!" + o] ? "! " : "");
    if (spec.opts["ctstate"]) parts.push(`${inv("ctstate")}--ctstate ${(spec.opts["ctstate"] as string[]).join(",")}`);
    if (spec.opts["ctproto"] !== undefined) parts.push(`${inv("ctproto")}--ctproto ${spec.opts["ctproto"]}`);
    for (const o of ADDR_OPTS) {
      const a = spec.opts[o] as number[] | undefined;
      if (a) parts.push(`${inv(o)}--${o} ${formatIPv4(a[0]!)}${a[1] === 32 ? "" : `/${a[1]}`}`);
    }
    for (const o of PORT_OPTS) {
      const r = spec.opts[o] as [number, number] | undefined;
      if (r) parts.push(`${inv(o)}--${o} ${formatPortRange(r)}`);
    }
    if (spec.opts["ctstatus"]) parts.push(`${inv("ctstatus")}--ctstatus ${(spec.opts["ctstatus"] as string[]).join(",")}`);
    if (spec.opts["ctdir"]) parts.push(`--ctdir ${spec.opts["ctdir"]}`);
    return parts.join(" ");
  },
  list(spec) {
    return this.save(spec)
      .replace(/--/g, "")
      .replace(/! (\w+) /g, "$1 ! ");
  },
  compile(spec) {
    const tests: ((pkt: Packet) => boolean)[] = [];
    const o = spec.opts;
    if (o["ctstate"]) tests.push(stateTest(o["ctstate"] as string[], !!o["!ctstate"]));
    const ctOf = (pkt: Packet) => pkt.nfct as Conn | null;
    if (o["ctproto"] !== undefined) {
      const proto = Number(o["ctproto"]);
      const inv = !!o["!ctproto"];
      tests.push((pkt) => {
        const ct = ctOf(pkt);
        return !!ct && (ct.tuple[0].proto === proto) !== inv;
      });
    }
    ADDR_OPTS.forEach((opt, i) => {
      const a = o[opt] as number[] | undefined;
      if (!a) return;
      const mask = maskOf(a[1]!);
      const inv = !!o["!" + opt];
      const dir = i < 2 ? 0 : 1;
      const useSrc = i % 2 === 0;
      tests.push((pkt) => {
        const ct = ctOf(pkt);
        if (!ct) return false;
        const t = ct.tuple[dir]!;
        return (((useSrc ? t.src : t.dst) & mask) >>> 0 === a[0]) !== inv;
      });
    });
    PORT_OPTS.forEach((opt, i) => {
      const r = o[opt] as [number, number] | undefined;
      if (!r) return;
      const inv = !!o["!" + opt];
      const dir = i < 2 ? 0 : 1;
      const useSrc = i % 2 === 0;
      tests.push((pkt) => {
        const ct = ctOf(pkt);
        if (!ct) return false;
        const p = useSrc ? ct.tuple[dir]!.sport : ct.tuple[dir]!.dport;
        return (p >= r[0] && p <= r[1]) !== inv;
      });
    });
    if (o["ctstatus"]) {
      const bits = (o["ctstatus"] as string[]).reduce((acc, s) => acc | STATUS_BITS[s]!, 0);
      const inv = !!o["!ctstatus"];
      tests.push((pkt) => {
        const ct = ctOf(pkt);
        return !!ct && ((ct.status & bits) !== 0) !== inv;
      });
    }
    if (o["ctdir"]) {
      const reply = o["ctdir"] === "REPLY";
      tests.push((pkt) => !!ctOf(pkt) && (pkt.ctinfo >= IP_CT_IS_REPLY && pkt.ctinfo !== IP_CT_UNTRACKED) === reply);
    }
    return (pkt) => {
      for (const t of tests) if (!t(pkt)) return false;
      return true;
    };
  },
};

export const stateMatch: MatchExt = {
  name: "state",
  conntrack: true,
  options: { state: { arg: true, invertible: true } },
  parse(spec, _opt, value, inv) {
    const states = value!.split(",");
    for (const s of states) if (!["INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED"].includes(s)) throw new ParseError(`Bad state "${s}"`);
    spec.opts["state"] = STATE_ORDER.filter((s) => states.includes(s));
    if (inv) spec.opts["!state"] = true;
  },
  save: (spec: MatchSpec) => `${spec.opts["!state"] ? "! " : ""}--state ${(spec.opts["state"] as string[]).join(",")}`,
  list: (spec: MatchSpec) => `state ${spec.opts["!state"] ? "! " : ""}${(spec.opts["state"] as string[]).join(",")}`,
  compile: (spec) => stateTest(spec.opts["state"] as string[], !!spec.opts["!state"]),
};
