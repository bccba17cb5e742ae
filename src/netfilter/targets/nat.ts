// NAT targets (xt_nat.c, xt_MASQUERADE.c, xt_REDIRECT.c): each sets up the connection's
// binding on its first packet and returns NF_ACCEPT.
import { IPPROTO_TCP, IPPROTO_UDP } from "../../wire/packet.ts";
import { formatIPv4, parseIPv4 } from "../../wire/ipv4.ts";
import type { RuleConfig, TargetSpec } from "../types.ts";
import { type CompileCtx, ParseError, type TargetExt, TV } from "../ext.ts";
import { type NatRange, NF_NAT_MANIP_DST, NF_NAT_MANIP_SRC } from "../nat.ts";
import type { Conn } from "../conntrack.ts";
import { inetSelectAddr } from "../../dataplane/route.ts";
import { Hook } from "../../dataplane/hooks.ts";
import { serviceByName } from "../../wire/netdb.ts";

/** getservbyname(name, NULL): the first protocol that has the name. */
export function anyServicePort(name: string): number | null {
  return serviceByName(name, "tcp") ?? serviceByName(name, "udp") ?? serviceByName(name, "sctp");
}

function badAddress(text: string): ParseError {
  return new ParseError(`Bad IP address "${text}"`);
}

function parseAddrRange(text: string, opt: string): { min: number; max: number; ports: [number, number] | null } {
  // libxt_NAT parse_ports(): a port that is not a number is looked up as a service name.
  const colon = text.indexOf(":");
  if (colon >= 0 && !/^\d/.test(text.slice(colon + 1))) {
    const port = anyServicePort(text.slice(colon + 1));
    if (port !== null) text = `${text.slice(0, colon)}:${port}`;
  }
  const m = /^([0-9.]*)(?:-([0-9.]+))?(?::(\d+)(?:[-:](\d+))?)?$/.exec(text);
  if (!m) throw badAddress(text);
  const min = m[1] ? parseIPv4(m[1]) : null;
  if (m[1] && min === null) throw badAddress(text);
  const max = m[2] ? parseIPv4(m[2]) : min;
  if (m[2] && max === null) throw badAddress(text);
  let ports: [number, number] | null = null;
  if (m[3] !== undefined) {
    const lo = Number(m[3]);
    const hi = m[4] !== undefined ? Number(m[4]) : lo;
    if (lo > 65535 || hi > 65535 || lo > hi) throw new ParseError(`Port range \`${text.split(":")[1]}' invalid`);
    ports = [lo, hi];
  }
  if (min === null && !ports) throw new ParseError(`${opt}: Bad IP address "${text}"`);
  return { min: min ?? 0, max: max ?? 0, ports };
}

function formatRange(spec: TargetSpec, key: string): string {
  const r = spec.opts[key] as number[];
  const [min, max, plo, phi] = r as [number, number, number, number];
  let s = min || max ? formatIPv4(min) + (max !== min ? `-${formatIPv4(max)}` : "") : "";
  if (plo >= 0) s += `:${plo}${phi !== plo ? `-${phi}` : ""}`;
  return s;
}

function rangeOf(spec: TargetSpec, key: string): NatRange {
  const r = (spec.opts[key] as number[] | undefined) ?? [0, 0, -1, -1];
  const [min, max, plo, phi] = r as [number, number, number, number];
  return {
    minIp: min,
    maxIp: max,
    mapIps: min !== 0 || max !== 0,
    protoSpecified: plo >= 0,
    minPort: Math.max(plo, 0),
    maxPort: Math.max(phi, 0),
    random: !!spec.opts["random"],
    fully: !!spec.opts["random-fully"],
  };
}

function needsPortProto(rule: RuleConfig, spec: TargetSpec, key: string, name: string): void {
  const r = spec.opts[key] as number[] | undefined;
  if (r && r[2]! >= 0 && rule.proto !== IPPROTO_TCP && rule.proto !== IPPROTO_UDP && rule.proto !== 132 && rule.proto !== 33 && rule.proto !== 136) {
    throw new ParseError(`Need TCP, UDP, SCTP or DCCP with port specification`);
  }
  void name;
}

function flagsSave(spec: TargetSpec): string {
  return (spec.opts["random"] ? " --random" : "") + (spec.opts["random-fully"] ? " --random-fully" : "") + (spec.opts["persistent"] ? " --persistent" : "");
}
function flagsList(spec: TargetSpec): string {
  return (spec.opts["random"] ? " random" : "") + (spec.opts["random-fully"] ? " random-fully" : "") + (spec.opts["persistent"] ? " persistent" : "");
}

const FLAG_OPTS = { random: { arg: false }, "random-fully": { arg: false }, persistent: { arg: false } };

function bind(ctx: CompileCtx, ct: Conn | null, range: NatRange, manip: number): TV {
  if (!ct) return TV.Accept;
  return ctx.rt.natSetup(ctx.ns, ct, range, manip) ? TV.Accept : TV.Drop;
}

/** DNAT and SNAT (xt_nat.c): the same target for either end of the tuple. */
function natTarget(name: "DNAT" | "SNAT", opt: "to-destination" | "to-source", chains: string[], manip: number): TargetExt {
  return {
    name,
    tables: ["nat"],
    chains,
    conntrack: true,
    options: { [opt]: { arg: true }, ...FLAG_OPTS },
    parse(spec, o, value) {
      if (o === opt) {
        if (spec.opts["to"]) throw new ParseError(`${name}: Multiple --${opt} not supported`);
        const r = parseAddrRange(value!, `--${opt}`);
        spec.opts["to"] = [r.min, r.max, r.ports ? r.ports[0] : -1, r.ports ? r.ports[1] : -1];
      } else spec.opts[o] = true;
    },
    check(spec, rule) {
      if (!spec.opts["to"]) throw new ParseError(`${name}: option "--${opt}" must be specified`, true);
      needsPortProto(rule, spec, "to", name);
    },
    save: (spec) => `--${opt} ${formatRange(spec, "to")}${flagsSave(spec)}`,
    list: (spec) => `to:${formatRange(spec, "to")}${flagsList(spec)}`,
    compile(spec, ctx) {
      const range = rangeOf(spec, "to");
      return (pkt) => bind(ctx, pkt.nfct as Conn | null, range, manip);
    },
  };
}

export const dnatTarget = natTarget("DNAT", "to-destination", ["PREROUTING", "OUTPUT"], NF_NAT_MANIP_DST);
export const snatTarget = natTarget("SNAT", "to-source", ["POSTROUTING", "INPUT"], NF_NAT_MANIP_SRC);

function parsePorts(value: string): [number, number] {
  const m = /^(\d+)(?:[-:](\d+))?$/.exec(value);
  if (!m || Number(m[1]) > 65535 || (m[2] !== undefined && Number(m[2]) > 65535)) throw new ParseError(`Port \`${value}' not valid`);
  return [Number(m[1]), m[2] !== undefined ? Number(m[2]) : Number(m[1])];
}

export const masqueradeTarget: TargetExt = {
  name: "MASQUERADE",
  tables: ["nat"],
  chains: ["POSTROUTING"],
  conntrack: true,
  options: { "to-ports": { arg: true }, ...FLAG_OPTS },
  parse(spec, opt, value) {
    if (opt === "to-ports") {
      const [lo, hi] = parsePorts(value!);
      spec.opts["to"] = [0, 0, lo, hi];
    } else spec.opts[opt] = true;
  },
  check(spec, rule) {
    needsPortProto(rule, spec, "to", "MASQUERADE");
  },
  save(spec) {
    const r = spec.opts["to"] as number[] | undefined;
    return ((r ? `--to-ports ${r[2]}${r[3] !== r[2] ? `-${r[3]}` : ""}` : "") + flagsSave(spec)).trimStart();
  },
  list(spec) {
    const r = spec.opts["to"] as number[] | undefined;
    return ((r ? `masq ports: ${r[2]}${r[3] !== r[2] ? `-${r[3]}` : ""}` : "") + flagsList(spec)).trimStart();
  },
  compile(spec, ctx) {
    const base = rangeOf(spec, "to");
    // nf_nat_masquerade_ipv4(): the source becomes the out device's address towards the next hop.
    return (pkt, st) => {
      const ct = pkt.nfct as Conn | null;
      if (!ct || !st.outDev) return TV.Accept;
      const nh = pkt.dst ? pkt.dst.gw : pkt.daddr;
      const src = inetSelectAddr(st.outDev.ns, st.outDev, nh, "global");
      if (!src) {
        st.reason = `MASQUERADE: ${st.outDev.name} has no address`;
        return TV.Drop;
      }
      return bind(ctx, ct, { ...base, minIp: src, maxIp: src, mapIps: true }, NF_NAT_MANIP_SRC);
    };
  },
};

export const redirectTarget: TargetExt = {
  name: "REDIRECT",
  tables: ["nat"],
  chains: ["PREROUTING", "OUTPUT"],
  conntrack: true,
  options: { "to-ports": { arg: true }, random: { arg: false } },
  parse(spec, opt, value) {
    if (opt === "to-ports") {
      const [lo, hi] = parsePorts(value!);
      spec.opts["to"] = [0, 0, lo, hi];
    } else spec.opts[opt] = true;
  },
  check(spec, rule) {
    needsPortProto(rule, spec, "to", "REDIRECT");
  },
  save(spec) {
    const r = spec.opts["to"] as number[] | undefined;
    return ((r ? `--to-ports ${r[2]}${r[3] !== r[2] ? `-${r[3]}` : ""}` : "") + (spec.opts["random"] ? " --random" : "")).trimStart();
  },
  list(spec) {
    const r = spec.opts["to"] as number[] | undefined;
    return (r ? `redir ports ${r[2]}${r[3] !== r[2] ? `-${r[3]}` : ""}` : "") + (spec.opts["random"] ? " random" : "");
  },
  compile(spec, ctx) {
    const base = rangeOf(spec, "to");
    // nf_nat_redirect_ipv4(): to 127.0.0.1 for local packets, else the input device's first address.
    return (pkt, st) => {
      const ct = pkt.nfct as Conn | null;
      if (!ct) return TV.Accept;
      let to = 0x7f000001;
      if (st.hook !== Hook.LocalOut) {
        const a = st.inDev?.cfg.addrs.at(0);
        if (!a) return TV.Drop;
        to = a.addr;
      }
      return bind(ctx, ct, { ...base, minIp: to, maxIp: to, mapIps: true }, NF_NAT_MANIP_DST);
    };
  },
};
