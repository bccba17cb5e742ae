// Stateless matches: comment, mark, multiport, addrtype, statistic, physdev.
import { IPPROTO_TCP, IPPROTO_UDP } from "../../wire/packet.ts";
import { isMulticast, INADDR_BROADCAST } from "../../wire/ipv4.ts";
import { formatPortRange, hex, type MatchExt, ParseError, parseMarkValue, parsePortRange, portName } from "../ext.ts";

export const commentMatch: MatchExt = {
  name: "comment",
  options: { comment: { arg: true } },
  parse(spec, _opt, value) {
    // iptables-nft 1.8.9 keeps the first XT_MAX_COMMENT_LEN - 1 bytes (the kernel's 256, NUL included).
    const buf = Buffer.from(value!, "utf8");
    spec.opts["comment"] = buf.length > 255 ? buf.subarray(0, 255).toString("utf8") : value!;
  },
  // xtables_save_string(): bare when only [_-0-9A-Za-z], else quoted with " \ ' escaped.
  save: (spec) => {
    const c = String(spec.opts["comment"]);
    return /^[-_0-9A-Za-z]+$/.test(c) ? `--comment ${c}` : `--comment "${c.replace(/(["\\'])/g, "\\$1")}"`;
  },
  list: (spec) => `/* ${spec.opts["comment"]} */`,
  compile: () => () => true,
};

export const markMatch: MatchExt = {
  name: "mark",
  options: { mark: { arg: true, invertible: true } },
  parse(spec, _opt, value, inv) {
    const v = parseMarkValue(value!);
    if (!v && !/^(0x[0-9a-f]|\d)/i.test(value!)) throw new ParseError(`mark: bad integer value for option "--mark", or out of range.\n`);
    if (!v) throw new ParseError(`mark: trailing garbage after value for option "--mark".`, true);
    spec.opts["mark"] = v;
    if (inv) spec.opts["!mark"] = true;
  },
  // xtables_option_mfcall(): XTOPT_MAND.
  final(spec) {
    if (!spec.opts["mark"]) throw new ParseError(`mark: option "--mark" must be specified\n`);
  },
  save(spec) {
    const [v, m] = spec.opts["mark"] as number[];
    return `${spec.opts["!mark"] ? "! " : ""}--mark ${hex(v!)}${m === 0xffffffff ? "" : `/${hex(m!)}`}`;
  },
  list(spec) {
    const [v, m] = spec.opts["mark"] as number[];
    return `mark match ${spec.opts["!mark"] ? "! " : ""}${hex(v!)}${m === 0xffffffff ? "" : `/${hex(m!)}`}`;
  },
  compile(spec) {
    const [v, m] = spec.opts["mark"] as number[];
    const inv = !!spec.opts["!mark"];
    return (pkt) => ((pkt.mark & m!) >>> 0 === v) !== inv;
  },
};

export const multiportMatch: MatchExt = {
  name: "multiport",
  options: {
    sports: { arg: true, invertible: true },
    "source-ports": { arg: true, invertible: true },
    dports: { arg: true, invertible: true },
    "destination-ports": { arg: true, invertible: true },
    ports: { arg: true, invertible: true },
  },
  parse(spec, opt, value, inv, rule) {
    if (rule.proto !== IPPROTO_TCP && rule.proto !== IPPROTO_UDP && rule.proto !== 132) {
      throw new ParseError("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'");
    }
    const key = opt.startsWith("s") ? "sports" : opt.startsWith("d") ? "dports" : "ports";
    const pname = rule.proto === IPPROTO_TCP ? "tcp" : rule.proto === IPPROTO_UDP ? "udp" : "sctp";
    const list = value!.split(",").map((p) => parsePortRange(p, "port", pname));
    if (list.length > 15) throw new ParseError("too many ports specified");
    spec.opts[key] = list.map((r) => formatPortRange(r));
    if (inv) spec.opts["!" + key] = true;
  },
  save(spec) {
    const key = ["sports", "dports", "ports"].find((k) => spec.opts[k])!;
    return `${spec.opts["!" + key] ? "! " : ""}--${key} ${(spec.opts[key] as string[]).join(",")}`;
  },
  list(spec, numeric) {
    const key = ["sports", "dports", "ports"].find((k) => spec.opts[k])!;
    const names = (spec.opts[key] as string[]).map((p) => (/^\d+$/.test(p) ? portName(Number(p), numeric) : p));
    return `multiport ${key}${spec.opts["!" + key] ? " !" : ""} ${names.join(",")}`;
  },
  compile(spec) {
    const key = ["sports", "dports", "ports"].find((k) => spec.opts[k])!;
    const ranges = (spec.opts[key] as string[]).map((p) => parsePortRange(p));
    const inv = !!spec.opts["!" + key];
    const inList = (p: number) => ranges.some(([lo, hi]) => p >= lo && p <= hi);
    return (pkt) => {
      const hit = key === "sports" ? inList(pkt.sport) : key === "dports" ? inList(pkt.dport) : inList(pkt.sport) || inList(pkt.dport);
      return hit !== inv;
    };
  },
};

const ADDR_TYPES = ["UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST", "BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE"];

export const addrtypeMatch: MatchExt = {
  name: "addrtype",
  options: {
    "src-type": { arg: true, invertible: true },
    "dst-type": { arg: true, invertible: true },
    "limit-iface-in": { arg: false },
    "limit-iface-out": { arg: false },
  },
  parse(spec, opt, value, inv) {
    if (opt === "limit-iface-in" || opt === "limit-iface-out") {
      spec.opts[opt] = true;
      return;
    }
    const types = value!.split(",");
    for (const t of types) if (!ADDR_TYPES.includes(t)) throw new ParseError(`addrtype: unknown type \`${t}'`);
    spec.opts[opt] = types;
    if (inv) spec.opts["!" + opt] = true;
  },
  save(spec) {
    const parts: string[] = [];
    for (const k of ["src-type", "dst-type"]) if (spec.opts[k]) parts.push(`${spec.opts["!" + k] ? "! " : ""}--${k} ${(spec.opts[k] as string[]).join(",")}`);
    for (const k of ["limit-iface-in", "limit-iface-out"]) if (spec.opts[k]) parts.push(`--${k}`);
    return parts.join(" ");
  },
  list(spec) {
    const parts: string[] = [];
    if (spec.opts["src-type"]) parts.push(`ADDRTYPE match src-type ${spec.opts["!src-type"] ? "!" : ""}${(spec.opts["src-type"] as string[]).join(",")}`);
    if (spec.opts["dst-type"]) parts.push(`${parts.length ? "" : "ADDRTYPE match "}dst-type ${spec.opts["!dst-type"] ? "!" : ""}${(spec.opts["dst-type"] as string[]).join(",")}`);
    if (spec.opts["limit-iface-in"]) parts.push("limit-in");
    if (spec.opts["limit-iface-out"]) parts.push("limit-out");
    return parts.join(" ");
  },
  compile(spec, ctx) {
    const check = (key: string, addr: number, st: Parameters<import("../ext.ts").MatchFn>[1]) => {
      const types = spec.opts[key] as string[] | undefined;
      if (!types) return true;
      const inv = !!spec.opts["!" + key];
      const ns = ctx.rt.view(ctx.ns);
      const limit = spec.opts["limit-iface-in"] ? st.inDev : spec.opts["limit-iface-out"] ? st.outDev : null;
      let type = "UNICAST";
      const holder = ns ? ns.local.get(addr) : undefined;
      if (holder && (!limit || limit === holder)) type = "LOCAL";
      else if (addr === INADDR_BROADCAST) type = "BROADCAST";
      else if (isMulticast(addr)) type = "MULTICAST";
      else if (ns) {
        const r = ns.fib.lookup(addr);
        if (r && r.type === "broadcast") type = "BROADCAST";
        else if (r && r.type === "blackhole") type = "BLACKHOLE";
        else if (r && r.type === "unreachable") type = "UNREACHABLE";
        else if (r && r.type === "prohibit") type = "PROHIBIT";
      }
      return types.includes(type) !== inv;
    };
    return (pkt, st) => check("src-type", pkt.saddr, st) && check("dst-type", pkt.daddr, st);
  },
};

export const statisticMatch: MatchExt = {
  name: "statistic",
  options: { mode: { arg: true }, probability: { arg: true, invertible: true }, every: { arg: true, invertible: true }, packet: { arg: true } },
  parse(spec, opt, value, inv) {
    if (opt === "mode") {
      if (value !== "random" && value !== "nth") throw new ParseError(`Bad mode \`${value}'`);
      spec.opts["mode"] = value!;
    } else if (opt === "probability") {
      const p = Number(value);
      if (!/^[0-9.]+$/.test(value!) || p < 0 || p > 1) throw new ParseError(`statistic: bad value for option "--probability", or out of range (0-1).`, true);
      spec.opts["probability"] = p;
      if (inv) spec.opts["!"] = true;
    } else if (opt === "every") {
      const n = Number(value);
      if (!/^\d+$/.test(value!) || n < 1) throw new ParseError(`invalid --every ${value}`);
      spec.opts["every"] = n;
      if (inv) spec.opts["!"] = true;
    } else if (opt === "packet") {
      spec.opts["packet"] = Number(value);
    }
  },
  check(spec) {
    if (!spec.opts["mode"]) throw new ParseError("no mode specified");
    if (spec.opts["mode"] === "random" && spec.opts["probability"] === undefined) throw new ParseError("--probability must be specified when using random mode");
    if (spec.opts["mode"] === "nth" && spec.opts["every"] === undefined) throw new ParseError("--every must be specified when using nth mode");
  },
  save(spec) {
    const inv = spec.opts["!"] ? "! " : "";
    if (spec.opts["mode"] === "random") return `--mode random ${inv}--probability ${Number(spec.opts["probability"]).toFixed(11)}`;
    return `--mode nth ${inv}--every ${spec.opts["every"]} --packet ${spec.opts["packet"] ?? 0}`;
  },
  list(spec) {
    const inv = spec.opts["!"] ? "! " : "";
    if (spec.opts["mode"] === "random") return `statistic mode random ${inv}probability ${Number(spec.opts["probability"]).toFixed(11)}`;
    return `statistic mode nth ${inv}every ${spec.opts["every"]}${spec.opts["packet"] ? ` packet ${spec.opts["packet"]}` : ""}`;
  },
  compile(spec, ctx) {
    const inv = !!spec.opts["!"];
    if (spec.opts["mode"] === "random") {
      // xt_statistic: get_random_u32() < probability * 2^31 (probability kept as a 31-bit fraction).
      const threshold = Math.round(Number(spec.opts["probability"]) * 0x80000000);
      return () => ((ctx.rt.random() & 0x7fffffff) < threshold) !== inv;
    }
    const every = Number(spec.opts["every"]);
    const packet = Number(spec.opts["packet"] ?? 0);
    const state = { count: packet };
    // nth mode: count cycles 0..every-1, matching when it wraps to zero.
    return () => {
      state.count = state.count + 1 >= every ? 0 : state.count + 1;
      return (state.count === 0) !== inv;
    };
  },
};

export const physdevMatch: MatchExt = {
  name: "physdev",
  options: {
    "physdev-in": { arg: true, invertible: true },
    "physdev-out": { arg: true, invertible: true },
    "physdev-is-in": { arg: false, invertible: true },
    "physdev-is-out": { arg: false, invertible: true },
    "physdev-is-bridged": { arg: false, invertible: true },
  },
  parse(spec, opt, value, inv) {
    spec.opts[opt] = value ?? true;
    if (inv) spec.opts["!" + opt] = true;
  },
  save(spec) {
    const parts: string[] = [];
    for (const k of ["physdev-in", "physdev-out"]) if (spec.opts[k] !== undefined) parts.push(`${spec.opts["!" + k] ? "! " : ""}--${k} ${spec.opts[k]}`);
    for (const k of ["physdev-is-in", "physdev-is-out", "physdev-is-bridged"]) if (spec.opts[k]) parts.push(`${spec.opts["!" + k] ? "! " : ""}--${k}`);
    return parts.join(" ");
  },
  list(spec) {
    const parts: string[] = ["PHYSDEV match"];
    if (spec.opts["physdev-in"] !== undefined) parts.push(`${spec.opts["!physdev-in"] ? "! " : ""}--physdev-in ${spec.opts["physdev-in"]}`);
    if (spec.opts["physdev-out"] !== undefined) parts.push(`${spec.opts["!physdev-out"] ? "! " : ""}--physdev-out ${spec.opts["physdev-out"]}`);
    for (const k of ["physdev-is-in", "physdev-is-out", "physdev-is-bridged"]) if (spec.opts[k]) parts.push(`${spec.opts["!" + k] ? "! " : ""}--${k}`);
    return parts.join(" ");
  },
  compile(spec, ctx) {
    const name = (id: number) => (id ? (ctx.rt.view(ctx.ns)?.byId.get(id)?.name ?? "") : "");
    const test = (want: unknown, have: string, inv: boolean) => {
      if (want === undefined) return true;
      const w = String(want);
      const hit = have !== "" && (w.endsWith("+") ? have.startsWith(w.slice(0, -1)) : have === w);
      return hit !== inv;
    };
    const o = spec.opts;
    return (pkt) => {
      const bridged = pkt.physIn !== 0 && pkt.physOut !== 0;
      if (o["physdev-is-bridged"] && bridged === !!o["!physdev-is-bridged"]) return false;
      if (o["physdev-is-in"] && (pkt.physIn !== 0) === !!o["!physdev-is-in"]) return false;
      if (o["physdev-is-out"] && (pkt.physOut !== 0) === !!o["!physdev-is-out"]) return false;
      return test(o["physdev-in"], name(pkt.physIn), !!o["!physdev-in"]) && test(o["physdev-out"], name(pkt.physOut), !!o["!physdev-out"]);
    };
  },
};
