// Non-NAT targets: MARK (xt_mark.c), LOG, CT --notrack / NOTRACK, REJECT (ipt_REJECT.c),
// SET (xt_set.c).
import { ICMP_DEST_UNREACH, IPPROTO_TCP } from "../../wire/packet.ts";
import { formatIPv4 } from "../../wire/ipv4.ts";
import { hex, ParseError, parseMarkValue, saveString, type TargetExt, TV } from "../ext.ts";
import { IP_CT_UNTRACKED } from "../conntrack.ts";
import { parseDirs } from "../matches/set.ts";

export const markTarget: TargetExt = {
  name: "MARK",
  options: { "set-xmark": { arg: true }, "set-mark": { arg: true }, "and-mark": { arg: true }, "or-mark": { arg: true }, "xor-mark": { arg: true } },
  parse(spec, opt, value) {
    if (spec.opts["mark"] !== undefined) throw new ParseError("MARK target: Can't specify --set-mark twice");
    const v = parseMarkValue(value!);
    if (!v) throw new ParseError(`Bad MARK value "${value}"`);
    const [val, mask] = v;
    // libxt_MARK mark_tg_parse(): every form becomes an xmark (mark, mask).
    let mark = val;
    let m = mask;
    if (opt === "set-mark") m = (val | mask) >>> 0;
    else if (opt === "and-mark") {
      mark = 0;
      m = ~val >>> 0;
    } else if (opt === "or-mark") m = val;
    else if (opt === "xor-mark") m = 0;
    spec.opts["mark"] = mark;
    spec.opts["mask"] = m;
  },
  check(spec) {
    if (spec.opts["mark"] === undefined) throw new ParseError("MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required");
  },
  save: (spec) => `--set-xmark ${hex(Number(spec.opts["mark"]))}/${hex(Number(spec.opts["mask"]))}`,
  list(spec) {
    const mark = Number(spec.opts["mark"]);
    const mask = Number(spec.opts["mask"]);
    if (mark === 0) return `MARK and ${hex(~mask >>> 0)}`;
    if (mark === mask) return `MARK or ${hex(mark)}`;
    if (mask === 0) return `MARK xor ${hex(mark)}`;
    if (mask === 0xffffffff) return `MARK set ${hex(mark)}`;
    return `MARK xset ${hex(mark)}/${hex(mask)}`;
  },
  compile(spec) {
    const mark = Number(spec.opts["mark"]);
    const mask = Number(spec.opts["mask"]);
    // mark_tg(): skb->mark = (skb->mark & ~mask) ^ mark
    return (pkt) => {
      pkt.mark = ((pkt.mark & ~mask) ^ mark) >>> 0;
      return TV.Continue;
    };
  },
};

export const logTarget: TargetExt = {
  name: "LOG",
  options: { "log-prefix": { arg: true }, "log-level": { arg: true }, "log-tcp-sequence": { arg: false }, "log-tcp-options": { arg: false }, "log-ip-options": { arg: false }, "log-uid": { arg: false } },
  parse(spec, opt, value) {
    if (opt === "log-prefix") {
      if (value!.length > 29) throw new ParseError("Maximum prefix length 29 for --log-prefix");
      spec.opts["prefix"] = value!;
    } else if (opt === "log-level") spec.opts["level"] = value!;
    else spec.opts[opt] = true;
  },
  save(spec) {
    const parts: string[] = [];
    if (spec.opts["prefix"] !== undefined) parts.push(`--log-prefix ${saveString(String(spec.opts["prefix"]))}`);
    if (spec.opts["level"] !== undefined && spec.opts["level"] !== "4" && spec.opts["level"] !== "warning") parts.push(`--log-level ${spec.opts["level"]}`);
    return parts.join(" ");
  },
  // libxt_LOG print: numeric "flags 0 level 4", else the level's name.
  list: (spec, numeric) => {
    const level = String(spec.opts["level"] ?? "4");
    const names = ["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"];
    const lv = numeric ? `flags 0 level ${/^\d$/.test(level) ? level : names.indexOf(level)}` : `level ${/^\d$/.test(level) ? names[Number(level)] : level}`;
    return `LOG ${lv}${spec.opts["prefix"] !== undefined ? ` prefix "${spec.opts["prefix"]}"` : ""}`;
  },
  compile(spec, ctx) {
    const prefix = String(spec.opts["prefix"] ?? "");
    return (pkt, st) => {
      const dp = ctx.rt.dp();
      if (dp.tracer) {
        dp.trace(pkt, ctx.ns, null, "rule", `LOG ${prefix}IN=${st.inDev?.name ?? ""} OUT=${st.outDev?.name ?? ""} SRC=${formatIPv4(pkt.saddr)} DST=${formatIPv4(pkt.daddr)} PROTO=${pkt.proto} SPT=${pkt.sport} DPT=${pkt.dport}`);
      }
      return TV.Continue;
    };
  },
};

export const ctTarget: TargetExt = {
  name: "CT",
  tables: ["raw"],
  options: { notrack: { arg: false }, zone: { arg: true }, helper: { arg: true } },
  parse(spec, opt, value) {
    if (opt !== "notrack") throw new ParseError(`CT --${opt} is not modelled by pktpath yet`);
    spec.opts["notrack"] = value ?? true;
  },
  save: () => "--notrack",
  list: () => "CT notrack",
  compile() {
    // xt_ct_target(): an untracked skb skips nf_conntrack_in.
    return (pkt) => {
      pkt.nfct = null;
      pkt.ctinfo = IP_CT_UNTRACKED;
      return TV.Continue;
    };
  },
};

/** NOTRACK: the old name of CT --notrack, still saved as NOTRACK by iptables-nft. */
export const notrackTarget: TargetExt = { ...ctTarget, name: "NOTRACK", options: {}, parse() {}, save: () => "", list: () => "" };

const REJECT_WITH: Record<string, number> = {
  "icmp-net-unreachable": 0,
  "net-unreach": 0,
  "icmp-host-unreachable": 1,
  "host-unreach": 1,
  "icmp-proto-unreachable": 2,
  "proto-unreach": 2,
  "icmp-port-unreachable": 3,
  "port-unreach": 3,
  "icmp-net-prohibited": 9,
  "net-prohib": 9,
  "icmp-host-prohibited": 10,
  "host-prohib": 10,
  "icmp-admin-prohibited": 13,
  "admin-prohib": 13,
  "tcp-reset": -1,
  "tcp-rst": -1,
};
const CANONICAL: Record<number, string> = { 0: "icmp-net-unreachable", 1: "icmp-host-unreachable", 2: "icmp-proto-unreachable", 3: "icmp-port-unreachable", 9: "icmp-net-prohibited", 10: "icmp-host-prohibited", 13: "icmp-admin-prohibited", [-1]: "tcp-reset" };

export const rejectTarget: TargetExt = {
  name: "REJECT",
  options: { "reject-with": { arg: true } },
  parse(spec, _opt, value) {
    const code = REJECT_WITH[value!];
    if (code === undefined) throw new ParseError(`unknown reject type "${value}"`);
    spec.opts["with"] = code;
  },
  check(spec, rule) {
    if (spec.opts["with"] === -1 && rule.proto !== IPPROTO_TCP) throw new ParseError("REJECT: TCP_RESET invalid for non-tcp");
  },
  save: (spec) => `--reject-with ${CANONICAL[Number(spec.opts["with"] ?? 3)]}`,
  list: (spec) => `reject-with ${CANONICAL[Number(spec.opts["with"] ?? 3)]}`,
  compile(spec, ctx) {
    const code = Number(spec.opts["with"] ?? 3);
    // reject_tg(): send the ICMP error or a RST, then drop.
    return (pkt, st) => {
      const dp = ctx.rt.dp();
      const ns = dp.view.netns.get(ctx.ns);
      if (!ns) return TV.Drop;
      if (code === -1) ctx.rt.sendReset(ns, pkt);
      else ctx.rt.sendIcmp(ns, pkt, ICMP_DEST_UNREACH, code, st.inDev);
      return TV.Drop;
    };
  },
};

export const setTarget: TargetExt = {
  name: "SET",
  options: { "add-set": { arg: true, twoArgs: true }, "del-set": { arg: true, twoArgs: true }, exist: { arg: false }, timeout: { arg: true } },
  parse(spec, opt, value) {
    if (opt === "add-set" || opt === "del-set") {
      const [name, flags] = value!.split(" ");
      if (!flags) throw new ParseError(`--${opt} requires two args.`);
      parseDirs(flags);
      spec.opts[opt] = [name!, flags];
    } else if (opt === "timeout") {
      if (!/^\d+$/.test(value!)) throw new ParseError(`Invalid value for option --timeout: ${value}`);
      spec.opts["timeout"] = Number(value);
    } else spec.opts["exist"] = true;
  },
  check(spec, _rule, ctx) {
    if (!spec.opts["add-set"] && !spec.opts["del-set"]) throw new ParseError("You must specify either `--add-set' or `--del-set'");
    for (const k of ["add-set", "del-set"]) {
      const v = spec.opts[k] as string[] | undefined;
      if (v && (!ctx.lookupSet || !ctx.lookupSet(v[0]!))) throw new ParseError(`Set ${v[0]} doesn't exist.`);
    }
  },
  save(spec) {
    const parts: string[] = [];
    for (const k of ["add-set", "del-set"]) {
      const v = spec.opts[k] as string[] | undefined;
      if (v) parts.push(`--${k} ${v[0]} ${v[1]}`);
    }
    if (spec.opts["exist"]) parts.push("--exist");
    if (spec.opts["timeout"] !== undefined) parts.push(`--timeout ${spec.opts["timeout"]}`);
    return parts.join(" ");
  },
  list(spec) {
    return this.save(spec).replace(/--add-set/, "add-set").replace(/--del-set/, "del-set").replace(/--exist/, "exist").replace(/--timeout/, "timeout");
  },
  compile(spec, ctx) {
    const add = spec.opts["add-set"] as string[] | undefined;
    const del = spec.opts["del-set"] as string[] | undefined;
    const addH = add ? ctx.rt.resolveSet(ctx.ns, add[0]!) : null;
    const delH = del ? ctx.rt.resolveSet(ctx.ns, del[0]!) : null;
    const addDirs = add ? parseDirs(add[1]!) : [];
    const delDirs = del ? parseDirs(del[1]!) : [];
    const timeout = spec.opts["timeout"] !== undefined ? Number(spec.opts["timeout"]) : null;
    const exist = !!spec.opts["exist"];
    return (pkt, st) => {
      const ifname = st.inDev?.name ?? st.outDev?.name ?? null;
      if (addH) addH.add(pkt, addDirs, ifname, ctx.rt.now(), timeout, exist);
      if (delH) delH.del(pkt, delDirs, ifname, ctx.rt.now());
      return TV.Continue;
    };
  },
};
