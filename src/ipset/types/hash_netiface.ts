// hash:net,iface (ip_set_hash_netiface.c, lib/ipset_hash_netiface.c): a network and an
// interface name (physdev: for bridge ports, wildcard for a name prefix), with nomatch.
// The name is compared but not hashed, so one net may carry several interfaces.
import type { Packet } from "../../wire/packet.ts";
import { EINVAL, IPSET_ERR_HASH_RANGE, IPSET_ERR_INVALID_CIDR, IPSET_FLAG_NOMATCH, IPSET_TEST, IPSET_TYPE_IFACE, IPSET_TYPE_IP, IPSET_TYPE_NOMATCH, type Adt } from "../consts.ts";
import { Elem } from "../elem.ts";
import { be32, jhash2 } from "../jhash.ts";
import type { IpSet, KernelOpt, SetType } from "../settype.ts";
import { Opt, type UserData } from "../user/data.ts";
import { parseAnyIp, parseIface } from "../user/parse.ts";
import { printIface, printIp } from "../user/print.ts";
import { HASH_CREATE, K } from "../user/spec.ts";
import { createHash, eexist, enomatch, headHash, hostmask, kernelAdt, rangeToCidr, sameHash, table, userAdt, userExt, type HashInfo } from "./hash.ts";

const info: HashInfo = {
  layout: {
    // struct hash_netiface4_elem_hashed { __be32 ip; u8 physdev; u8 cidr; u8 nomatch; u8 elem (1); }
    hkey: (e, iv) => jhash2(be32(e.ip), e.physdev | (e.cidr << 8) | (1 << 24), iv),
    withNets: true,
    net0: true,
    multi: true,
    netmask: (e, cidr) => {
      e.ip = (e.ip & hostmask(cidr)) >>> 0;
      e.cidr = cidr;
    },
  },
  elemSize: 28,
  elemAlign: 4,
  memBase: 488,
  netmask: false,
};

const probe = new Elem();
const need = [Opt.IP, Opt.IFACE];
const full = [Opt.IP, Opt.CIDR, Opt.IP_TO, Opt.IFACE, Opt.PHYSDEV];

export const hashNetIface: SetType = {
  name: "hash:net,iface",
  aliases: ["netifacehash"],
  revision: 8,
  family: "ipv46",
  dimension: 2,
  features: IPSET_TYPE_IP | IPSET_TYPE_IFACE | IPSET_TYPE_NOMATCH,
  user: {
    elem: [
      { parse: parseAnyIp, print: printIp, opt: Opt.IP },
      { parse: parseIface, print: printIface, opt: Opt.IFACE },
    ],
    create: { args: HASH_CREATE, need: [], full: [] },
    add: { args: [K.timeout, K.nomatch, K.wildcard, K.packets, K.bytes, K.adtComment, K.skbmark, K.skbprio, K.skbqueue], need, full },
    del: { args: [], need, full },
    test: { args: [K.nomatch], need, full: [Opt.IP, Opt.CIDR, Opt.IFACE, Opt.PHYSDEV] },
  },
  create: (d, ext, now) => createHash(info, d, ext, now),

  // hash_netiface4_uadt()
  uadt(set: IpSet, d: UserData, adt: Adt, flags: number, reg): number {
    const ext = userExt(set, d);
    if (typeof ext === "number") return ext;
    const e = new Elem();
    e.cidr = 32;
    if (d.has(Opt.CIDR)) {
      if (d.cidr > 32) return -IPSET_ERR_INVALID_CIDR;
      e.cidr = d.cidr;
    }
    e.iface = d.iface;
    if (d.cadt(Opt.PHYSDEV)) e.physdev = 1;
    if (d.cadt(Opt.NOMATCH)) flags |= IPSET_FLAG_NOMATCH << 16;
    if (d.cadt(Opt.IFACE_WILDCARD)) e.wildcard = 1;
    if (adt === IPSET_TEST || !d.has(Opt.IP_TO)) {
      e.ip = (d.ip & hostmask(e.cidr)) >>> 0;
      const ret = userAdt(set, e, adt, ext, flags, reg.now);
      return enomatch(set, ret, flags, adt) ? -ret : eexist(ret, flags) ? 0 : ret;
    }
    let ip = d.ip;
    let ipTo = d.ipTo;
    if (ipTo < ip) [ip, ipTo] = [ipTo, ip];
    if (ip === 0 && ipTo === 0xffffffff) return -IPSET_ERR_HASH_RANGE;
    do {
      e.ip = ip;
      [ip, e.cidr] = rangeToCidr(ip, ipTo);
      const ret = userAdt(set, e, adt, ext, flags, reg.now);
      if (ret && !eexist(ret, flags)) return ret;
    } while (ip++ < ipTo);
    return 0;
  },

  // hash_netiface4_kadt(): the in (src) or out (dst) device of the hook
  kadt(set: IpSet, pkt: Packet, adt: Adt, o: KernelOpt): number {
    if (!o.ifname) return -EINVAL;
    probe.reset();
    probe.cidr = adt === IPSET_TEST ? 32 : (table(set).nets.first ?? 32);
    probe.ip = ((o.dirs[0] ? pkt.saddr : pkt.daddr) & hostmask(probe.cidr)) >>> 0;
    probe.iface = o.ifname;
    return kernelAdt(set, probe, adt, o, pkt.len);
  },

  head: headHash,

  toData(_set: IpSet, e: Elem, d: UserData): void {
    d.ip = e.ip;
    d.cidr = e.cidr;
    d.iface = e.iface;
    for (const o of [Opt.IP, Opt.CIDR, Opt.IFACE]) d.flag(o);
    if (e.physdev) d.flag(Opt.PHYSDEV);
    if (e.nomatch) d.flag(Opt.NOMATCH);
    if (e.wildcard) d.flag(Opt.IFACE_WILDCARD);
  },

  sameSet: sameHash,
};
