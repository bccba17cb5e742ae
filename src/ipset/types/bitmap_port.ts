// bitmap:port (ip_set_bitmap_port.c, lib/ipset_bitmap_port.c): a range of TCP/UDP ports,
// one bit each; packets of other protocols never match.
import type { Packet } from "../../wire/packet.ts";
import { EINVAL, IPPROTO_TCP, IPPROTO_UDP, IPSET_ADD, IPSET_DEL, IPSET_ERR_BITMAP_RANGE, IPSET_ERR_PROTOCOL, IPSET_TEST, IPSET_TYPE_PORT, type Adt } from "../consts.ts";
import { BitmapData } from "../bitmap.ts";
import { elemLen, type AddExt, type Elem } from "../elem.ts";
import type { IpSet, KernelOpt, SetType } from "../settype.ts";
import { Opt, type UserData } from "../user/data.ts";
import { parseTcpUdpPort } from "../user/parse.ts";
import { printPort } from "../user/print.ts";
import { ADD_EXT, K } from "../user/spec.ts";
import { eexist, kernelExt, sameExt, userExt } from "./hash.ts";

export class BitmapPort extends BitmapData {
  firstPort = 0;
  lastPort = 0;

  override fork(): BitmapPort {
    return super.fork() as BitmapPort;
  }
}

function map(set: IpSet): BitmapPort {
  return set.data as BitmapPort;
}

function adt(m: BitmapPort, id: number, a: Adt, ext: AddExt, flags: number, now: number, packets = -1, bytes = 0): number {
  if (a === IPSET_ADD) return m.add(id, ext, flags, now);
  if (a === IPSET_DEL) return m.del(id, now);
  return m.test(id, now, packets, bytes);
}

export const bitmapPort: SetType = {
  name: "bitmap:port",
  aliases: ["portmap"],
  revision: 3,
  family: "unspec",
  dimension: 1,
  features: IPSET_TYPE_PORT,
  user: {
    elem: [{ parse: parseTcpUdpPort, print: printPort, opt: Opt.PORT }],
    create: {
      args: [K.portrange, K.timeout, K.counters, K.comment, K.skbinfo, K.fromPort, K.toPort],
      need: [Opt.PORT, Opt.PORT_TO],
      full: [Opt.PORT, Opt.PORT_TO],
    },
    add: { args: ADD_EXT, need: [Opt.PORT], full: [Opt.PORT, Opt.PORT_TO] },
    del: { args: [], need: [Opt.PORT], full: [Opt.PORT, Opt.PORT_TO] },
    test: { args: [], need: [Opt.PORT], full: [Opt.PORT] },
  },

  // bitmap_port_create()
  create(d, ext, now) {
    if (!d.has(Opt.PORT) || !d.has(Opt.PORT_TO)) return -IPSET_ERR_PROTOCOL;
    let first = d.port;
    let last = d.portTo;
    if (first > last) [first, last] = [last, first];
    const m = new BitmapPort(last - first + 1, ext, elemLen(0, 1, ext), 72, now);
    m.firstPort = first;
    m.lastPort = last;
    return m;
  },

  // bitmap_port_uadt()
  uadt(set: IpSet, d: UserData, a: Adt, flags: number, reg): number {
    const m = map(set);
    let port = d.port;
    if (port < m.firstPort || port > m.lastPort) return -IPSET_ERR_BITMAP_RANGE;
    const ext = userExt(set, d);
    if (typeof ext === "number") return ext;
    if (a === IPSET_TEST) return adt(m, port - m.firstPort, a, ext, flags, reg.now);
    let portTo = port;
    if (d.has(Opt.PORT_TO)) {
      portTo = d.portTo;
      if (port > portTo) {
        [port, portTo] = [portTo, port];
        if (port < m.firstPort) return -IPSET_ERR_BITMAP_RANGE;
      }
    }
    if (portTo > m.lastPort) return -IPSET_ERR_BITMAP_RANGE;
    for (; port <= portTo; port++) {
      const ret = adt(m, port - m.firstPort, a, ext, flags, reg.now);
      if (ret && !eexist(ret, flags)) return ret;
    }
    return 0;
  },

  // bitmap_port_kadt(): TCP and UDP only (ip_set_get_ip_port)
  kadt(set: IpSet, pkt: Packet, a: Adt, o: KernelOpt): number {
    const m = map(set);
    if (pkt.proto !== IPPROTO_TCP && pkt.proto !== IPPROTO_UDP) return -EINVAL;
    const port = o.dirs[0] ? pkt.sport : pkt.dport;
    if (port < m.firstPort || port > m.lastPort) return -IPSET_ERR_BITMAP_RANGE;
    if (a !== IPSET_TEST) m.gcCatchUp(o.now);
    return adt(m, port - m.firstPort, a, kernelExt(o, pkt.len), o.cmdflags, o.now, o.packets, o.bytes);
  },

  head(set: IpSet, d: UserData): void {
    const m = map(set);
    d.port = m.firstPort;
    d.portTo = m.lastPort;
    d.flag(Opt.PORT);
    d.flag(Opt.PORT_TO);
  },

  toData(set: IpSet, e: Elem, d: UserData): void {
    d.port = map(set).firstPort + e.id;
    d.flag(Opt.PORT);
  },

  sameSet(a: IpSet, b: IpSet): boolean {
    const x = map(a);
    const y = map(b);
    return x.firstPort === y.firstPort && x.lastPort === y.lastPort && sameExt(a.ext, b.ext);
  },
};
