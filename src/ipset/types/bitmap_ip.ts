// bitmap:ip (ip_set_bitmap_ip.c, lib/ipset_bitmap_ip.c): a range of at most 65536
// addresses (or networks of a netmask), one bit each.
import type { Packet } from "../../wire/packet.ts";
import { IPSET_BITMAP_MAX_RANGE, IPSET_ERR_BITMAP_RANGE, IPSET_ERR_BITMAP_RANGE_SIZE, IPSET_ERR_INVALID_CIDR, IPSET_ERR_INVALID_NETMASK, IPSET_ERR_PROTOCOL, IPSET_TEST, IPSET_TYPE_IP, IPSET_ADD, IPSET_DEL, type Adt } from "../consts.ts";
import { BitmapData } from "../bitmap.ts";
import { elemLen, type AddExt, type Elem } from "../elem.ts";
import type { IpSet, KernelOpt, SetType } from "../settype.ts";
import { Opt, type UserData } from "../user/data.ts";
import { parseAnyIp } from "../user/parse.ts";
import { printIp } from "../user/print.ts";
import { ADD_EXT, K } from "../user/spec.ts";
import { eexist, hostmask, kernelExt, maskFromTo, sameExt, userExt } from "./hash.ts";

/** struct bitmap_ip plus its range. */
export class BitmapIp extends BitmapData {
  firstIp = 0;
  lastIp = 0;
  hosts = 1;
  netmask = 32;

  override fork(): BitmapIp {
    return super.fork() as BitmapIp;
  }

  idOf(ip: number): number {
    return Math.floor((((ip & hostmask(this.netmask)) >>> 0) - this.firstIp) / this.hosts);
  }
}

function map(set: IpSet): BitmapIp {
  return set.data as BitmapIp;
}

/** range_to_mask() */
function rangeToMask(from: number, to: number): [number, number] {
  let mask = 0xfffffffe;
  let bits = 32;
  while (--bits > 0 && mask && ((to & mask) >>> 0) !== from) mask = (mask << 1) >>> 0;
  return [mask, bits];
}

function adt(m: BitmapIp, id: number, a: Adt, ext: AddExt, flags: number, now: number, packets = -1, bytes = 0): number {
  if (a === IPSET_ADD) return m.add(id, ext, flags, now);
  if (a === IPSET_DEL) return m.del(id, now);
  return m.test(id, now, packets, bytes);
}

export const bitmapIp: SetType = {
  name: "bitmap:ip",
  aliases: ["ipmap"],
  revision: 3,
  family: "ipv4",
  dimension: 1,
  features: IPSET_TYPE_IP,
  user: {
    elem: [{ parse: parseAnyIp, print: printIp, opt: Opt.IP }],
    create: {
      args: [K.iprange, K.netmask, K.timeout, K.counters, K.comment, K.skbinfo, K.fromIp, K.toIp, K.network],
      need: [Opt.IP, Opt.IP_TO],
      full: [Opt.IP, Opt.IP_TO],
    },
    add: { args: ADD_EXT, need: [Opt.IP], full: [Opt.IP, Opt.IP_TO] },
    del: { args: [], need: [Opt.IP], full: [Opt.IP, Opt.IP_TO] },
    test: { args: [], need: [Opt.IP], full: [Opt.IP] },
  },

  // bitmap_ip_create()
  create(d, ext, now) {
    let first = d.ip;
    let last: number;
    if (!d.has(Opt.IP)) return -IPSET_ERR_PROTOCOL;
    if (d.has(Opt.IP_TO)) {
      last = d.ipTo;
      if (first > last) [first, last] = [last, first];
    } else if (d.has(Opt.CIDR)) {
      if (d.cidr >= 32) return -IPSET_ERR_INVALID_CIDR;
      [first, last] = maskFromTo(first, d.cidr);
    } else return -IPSET_ERR_PROTOCOL;
    let netmask = 32;
    if (d.has(Opt.NETMASK)) {
      netmask = d.netmask;
      if (netmask > 32) return -IPSET_ERR_INVALID_NETMASK;
      first = (first & hostmask(netmask)) >>> 0;
      last = (last | ~hostmask(netmask)) >>> 0;
    }
    let hosts: number;
    let elements: number;
    if (netmask === 32) {
      hosts = 1;
      elements = last - first + 1;
    } else {
      const [mask, bits] = rangeToMask(first, last);
      if ((!mask && (first || last !== 0xffffffff)) || netmask <= bits) return -IPSET_ERR_BITMAP_RANGE;
      hosts = 2 ** (32 - netmask);
      elements = 2 ** (netmask - bits);
    }
    if (elements > IPSET_BITMAP_MAX_RANGE + 1) return -IPSET_ERR_BITMAP_RANGE_SIZE;
    const m = new BitmapIp(elements, ext, elemLen(0, 1, ext), 88, now);
    m.firstIp = first;
    m.lastIp = last;
    m.hosts = hosts;
    m.netmask = netmask;
    return m;
  },

  // bitmap_ip_uadt()
  uadt(set: IpSet, d: UserData, a: Adt, flags: number, reg): number {
    const m = map(set);
    let ip = d.ip;
    const ext = userExt(set, d);
    if (typeof ext === "number") return ext;
    if (ip < m.firstIp || ip > m.lastIp) return -IPSET_ERR_BITMAP_RANGE;
    if (a === IPSET_TEST) return adt(m, m.idOf(ip), a, ext, flags, reg.now);
    let ipTo: number;
    if (d.has(Opt.IP_TO)) {
      ipTo = d.ipTo;
      if (ip > ipTo) {
        [ip, ipTo] = [ipTo, ip];
        if (ip < m.firstIp) return -IPSET_ERR_BITMAP_RANGE;
      }
    } else if (d.has(Opt.CIDR)) {
      if (!d.cidr || d.cidr > 32) return -IPSET_ERR_INVALID_CIDR;
      [ip, ipTo] = maskFromTo(ip, d.cidr);
    } else ipTo = ip;
    if (ipTo > m.lastIp) return -IPSET_ERR_BITMAP_RANGE;
    for (; ip <= ipTo; ip += m.hosts) {
      const ret = adt(m, m.idOf(ip), a, ext, flags, reg.now);
      if (ret && !eexist(ret, flags)) return ret;
    }
    return 0;
  },

  // bitmap_ip_kadt()
  kadt(set: IpSet, pkt: Packet, a: Adt, o: KernelOpt): number {
    const m = map(set);
    const ip = o.dirs[0] ? pkt.saddr : pkt.daddr;
    if (ip < m.firstIp || ip > m.lastIp) return -IPSET_ERR_BITMAP_RANGE;
    if (a !== IPSET_TEST) m.gcCatchUp(o.now);
    return adt(m, m.idOf(ip), a, kernelExt(o, pkt.len), o.cmdflags, o.now, o.packets, o.bytes);
  },

  head(set: IpSet, d: UserData): void {
    const m = map(set);
    d.ip = m.firstIp;
    d.ipTo = m.lastIp;
    d.flag(Opt.IP);
    d.flag(Opt.IP_TO);
    if (m.netmask !== 32) {
      d.netmask = m.netmask;
      d.flag(Opt.NETMASK);
    }
  },

  toData(set: IpSet, e: Elem, d: UserData): void {
    const m = map(set);
    d.ip = m.firstIp + e.id * m.hosts;
    d.flag(Opt.IP);
  },

  sameSet(a: IpSet, b: IpSet): boolean {
    const x = map(a);
    const y = map(b);
    return x.firstIp === y.firstIp && x.lastIp === y.lastIp && x.netmask === y.netmask && sameExt(a.ext, b.ext);
  },
};
