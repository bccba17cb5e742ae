// What netfilter uses: a handle per set for the xt_set match (-m set) and the SET target,
// reference counting as xt_set takes and drops its references (netfilter's SetLookup),
// and the layer that puts the ipset tool on a host and returns that SetLookup.
import type { Host, Layer, LayerHost } from "../host.ts";
import type { Packet } from "../wire/packet.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import { ENOTEMPTY, IPSET_ADD, IPSET_DEL, IPSET_FLAG_EXIST, IPSET_FLAG_RETURN_NOMATCH, IPSET_TEST, type Adt } from "./consts.ts";
import { ipSetTest } from "./kernel.ts";
import type { KernelOpt } from "./settype.ts";
import { IpsetRuntime, type NetnsIpset } from "./store.ts";
import { ipsetTool } from "./tool.ts";
import { packetPort } from "./types/port.ts";
import type { SetHandle as XtSetHandle, SetLookup } from "../netfilter/matches/set.ts";
import { HTable } from "./htable.ts";
import { UserData } from "./user/data.ts";
import { printElem } from "./user/print.ts";
import { protoName } from "../wire/netdb.ts";

/** A handle on one set, as netfilter declares it (xt_set's match and SET target). */
export type IpSetHandle = XtSetHandle;

class SetHandle implements IpSetHandle {
  /** One reusable option block: the packet path allocates nothing. */
  private readonly opt: KernelOpt = { dirs: [], ifname: null, now: 0, packets: -1, bytes: 0, timeout: 0, cmdflags: 0 };

  constructor(
    private readonly host: LayerHost,
    private readonly ns: string,
    private readonly net: NetnsIpset,
    private readonly index: number,
  ) {}

  get name(): string {
    return this.net.get(this.index)?.name ?? "";
  }

  get dimensions(): number {
    return this.net.get(this.index)?.type.dimension ?? 0;
  }

  test(pkt: Packet, dirs: readonly boolean[], ifname: string | null, now: number, updateCounters: boolean, returnNomatch = false): number {
    const o = this.prepare(dirs, ifname, now, 0, returnNomatch ? IPSET_FLAG_RETURN_NOMATCH : 0);
    o.packets = updateCounters ? 1 : -1;
    o.bytes = pkt.len;
    let ret: number;
    if (returnNomatch) ret = ipSetTest(this.net, this.index, pkt, o) > 0 ? 1 : 0;
    else {
      const set = this.net.get(this.index);
      const raw = set && dirs.length >= set.type.dimension ? set.type.kadt(set, pkt, IPSET_TEST, o, this.net) : 0;
      ret = raw > 0 ? 1 : raw === -ENOTEMPTY ? -1 : 0;
    }
    if (this.host.dp.tracer) this.trace(pkt, "match-set", dirs, ifname, ret > 0 ? "hit" : ret < 0 ? "nomatch element" : "miss");
    return ret;
  }

  add(pkt: Packet, dirs: readonly boolean[], ifname: string | null, now: number, timeoutSec: number | null, exist: boolean): void {
    const set = this.net.get(this.index);
    if (!set) return;
    const o = this.prepare(dirs, ifname, now, timeoutSec ?? set.ext.timeout ?? 0, exist ? IPSET_FLAG_EXIST : 0);
    this.adt(set.type.dimension, pkt, IPSET_ADD, o, "add-set", ifname);
  }

  del(pkt: Packet, dirs: readonly boolean[], ifname: string | null, now: number): void {
    const o = this.prepare(dirs, ifname, now, 0, 0);
    this.adt(this.dimensions, pkt, IPSET_DEL, o, "del-set", ifname);
  }

  private adt(dims: number, pkt: Packet, adt: Adt, o: KernelOpt, what: string, ifname: string | null): void {
    const set = this.net.get(this.index);
    if (!set || o.dirs.length < dims) return;
    o.packets = 1;
    o.bytes = pkt.len;
    const ret = set.type.kadt(set, pkt, adt, o, this.net);
    if (this.host.dp.tracer) this.trace(pkt, what, o.dirs, ifname, ret === 0 ? "done" : `not done (error ${-ret})`);
  }

  private prepare(dirs: readonly boolean[], ifname: string | null, now: number, timeout: number, cmdflags: number): KernelOpt {
    const o = this.opt;
    o.dirs = dirs;
    o.ifname = ifname;
    o.now = now;
    o.timeout = timeout;
    o.cmdflags = cmdflags;
    return o;
  }

  /** The "set" trace event: which set, the key built from which fields, the outcome. */
  private trace(pkt: Packet, what: string, dirs: readonly boolean[], ifname: string | null, outcome: string): void {
    const set = this.net.get(this.index);
    if (!set) return;
    const kinds = set.type.name.split(":")[1]!.split(",");
    const key = kinds.map((k, i) => {
      const src = dirs[i] ?? false;
      const side = src ? "src" : "dst";
      if (k === "ip" || k === "net") return `${side} ${formatIPv4(src ? pkt.saddr : pkt.daddr)}`;
      if (k === "port") return `${side} ${protoName(pkt.proto) ?? pkt.proto}:${packetPort(pkt, src)}`;
      if (k === "iface") return `${src ? "in" : "out"} ${ifname ?? "-"}`;
      return `${side} (members)`;
    });
    let detail = outcome;
    if (outcome !== "miss" && what === "match-set" && set.data instanceof HTable && set.data.lastHit) {
      const d = new UserData();
      d.family = set.family;
      set.type.toData(set, set.data.lastHit, d, this.net);
      detail += ` ${printElem(set.type, d)}`;
    }
    this.host.dp.trace(pkt, this.ns, null, "set", `${what} ${set.name} (${set.type.name}) ${key.join(", ")}: ${detail}`);
  }
}

/** A stable handle for the set NAME in namespace ns (xt_set keeps the set index, so swap/rename are seen); null if no such set. */
export function lookupSet(rt: IpsetRuntime, ns: string, name: string): IpSetHandle | null {
  const st = rt.netns(ns);
  if (!st) return null;
  const index = st.find(name);
  return index < 0 ? null : new SetHandle(rt.host, ns, st, index);
}

/** Reference counting for `References:` in ipset list and for "Set cannot be destroyed: it is in use by a kernel component". */
export function refSet(rt: IpsetRuntime, ns: string, name: string, delta: 1 | -1): void {
  const st = rt.netns(ns);
  if (!st) return;
  const index = st.find(name);
  if (index < 0) return;
  if (delta < 0 && (st.refs[index] ?? 0) === 0) return;
  st.ref(index, delta);
}

/** The ipset layer: the `ipset` tool, and the sets as xt_set looks them up (handed to the netfilter layer). */
export const ipsetLayer: Layer<IpsetRuntime & SetLookup> = {
  name: "ipset",
  install(host: Host): IpsetRuntime & SetLookup {
    const rt = new IpsetRuntime(host);
    host.registerTool("ipset", ipsetTool(rt));
    return Object.assign(rt, {
      get: (ns: string, name: string) => lookupSet(rt, ns, name),
      ref: (ns: string, name: string, delta: 1 | -1) => refSet(rt, ns, name, delta),
    });
  },
};
