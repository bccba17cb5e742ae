// -m set (xt_set.c): membership of packet fields in an ipset. The sets themselves live in
// the ipset layer, handed to the netfilter layer at install as a SetLookup; without it
// every set name is unknown, as for iptables on a kernel whose set does not exist.
import type { Packet } from "../../wire/packet.ts";
import { type MatchExt, ParseError } from "../ext.ts";

/** What netfilter needs of one ipset (the ipset layer implements it). */
export interface SetHandle {
  /** current name (rename/swap aware) */
  readonly name: string;
  /** e.g. 3 for hash:ip,port,ip */
  readonly dimensions: number;
  /**
   * xt_set match: dirs[i] true = take dimension i from the packet's source (ip or port),
   * false = destination. ifname: the interface name for hash:net,iface. Returns 1 match,
   * 0 no match, -1 matched a `nomatch` element. With returnNomatch (--return-nomatch) the
   * kernel's inversion is applied instead and the result is 1 or 0.
   */
  test(pkt: Packet, dirs: readonly boolean[], ifname: string | null, now: number, updateCounters: boolean, returnNomatch?: boolean): number;
  /** SET target --add-set */
  add(pkt: Packet, dirs: readonly boolean[], ifname: string | null, now: number, timeoutSec: number | null, exist: boolean): void;
  /** SET target --del-set */
  del(pkt: Packet, dirs: readonly boolean[], ifname: string | null, now: number): void;
}

/** What xt_set needs of the ipset core (the ipset layer implements it). */
export interface SetLookup {
  /** ip_set_get_byname(): a handle on the set NAME in namespace ns, or null. */
  get(ns: string, name: string): SetHandle | null;
  /** ip_set_nfnl_get_byindex() / ip_set_put_byindex(): a rule takes or drops a reference. */
  ref(ns: string, name: string, delta: 1 | -1): void;
}

export function parseDirs(flags: string): boolean[] {
  const dirs = flags.split(",").map((f) => {
    if (f !== "src" && f !== "dst") throw new ParseError(`You must specify (the comma separated list of) 'src' or 'dst'.`);
    return f === "src";
  });
  if (dirs.length > 6) throw new ParseError("Can't be more src/dst options than 6.");
  return dirs;
}

export const setMatch: MatchExt = {
  name: "set",
  options: {
    "match-set": { arg: true, invertible: true, twoArgs: true },
    set: { arg: true, invertible: true, twoArgs: true },
    "return-nomatch": { arg: false },
    "update-counters": { arg: false, invertible: true },
    "update-subcounters": { arg: false, invertible: true },
  },
  parse(spec, opt, value, inv) {
    if (opt === "match-set" || opt === "set") {
      if (spec.opts["name"]) throw new ParseError("--match-set can be specified only once");
      const [name, flags] = value!.split(" ");
      if (!flags) throw new ParseError("--match-set requires two args.");
      if (name!.length > 31) throw new ParseError(`setname \`${name}' too long, max 31 characters.`);
      spec.opts["name"] = name!;
      spec.opts["flags"] = flags;
      parseDirs(flags);
      if (inv) spec.opts["!"] = true;
    } else {
      spec.opts[opt] = true;
      if (inv) spec.opts["!" + opt] = true;
    }
  },
  check(spec, _rule, ctx) {
    if (!spec.opts["name"]) throw new ParseError("You must specify `--match-set' with proper arguments");
    if (!ctx.lookupSet || !ctx.lookupSet(String(spec.opts["name"]))) throw new ParseError(`Set ${spec.opts["name"]} doesn't exist.`, true);
  },
  save(spec) {
    let s = `${spec.opts["!"] ? "! " : ""}--match-set ${spec.opts["name"]} ${spec.opts["flags"]}`;
    if (spec.opts["return-nomatch"]) s += " --return-nomatch";
    if (spec.opts["!update-counters"]) s += " ! --update-counters";
    if (spec.opts["!update-subcounters"]) s += " ! --update-subcounters";
    return s;
  },
  list(spec) {
    let s = `match-set ${spec.opts["!"] ? "! " : ""}${spec.opts["name"]} ${spec.opts["flags"]}`;
    if (spec.opts["return-nomatch"]) s += " return-nomatch";
    if (spec.opts["!update-counters"]) s += " ! update-counters";
    return s;
  },
  compile(spec, ctx) {
    const dirs = parseDirs(String(spec.opts["flags"]));
    const inv = !!spec.opts["!"];
    const returnNomatch = !!spec.opts["return-nomatch"];
    const update = !spec.opts["!update-counters"];
    const handle = ctx.rt.resolveSet(ctx.ns, String(spec.opts["name"]));
    return (pkt, st) => {
      if (!handle) return inv;
      // hash:net,iface: the interface is the second dimension (src: in, dst: out).
      const ifname = (dirs[1] ?? dirs[dirs.length - 1]) ? (st.inDev?.name ?? null) : (st.outDev?.name ?? null);
      // With --return-nomatch the set reports a nomatch element as a hit and a hit as a miss.
      const r = handle.test(pkt, dirs, ifname, ctx.rt.now(), update, returnNomatch);
      const hit = r > 0;
      return hit !== inv;
    };
  },
};
