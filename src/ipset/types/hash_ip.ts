// hash:ip (net/netfilter/ipset/ip_set_hash_ip.c, lib/ipset_hash_ip.c): IPv4 addresses,
// optionally stored masked to a netmask.
import type { Packet } from "../../wire/packet.ts";
import { IPSET_ERR_HASH_ELEM, IPSET_ERR_INVALID_CIDR, IPSET_TEST, IPSET_TYPE_IP, EINVAL, type Adt } from "../consts.ts";
import { Elem } from "../elem.ts";
import { be32, jhash1 } from "../jhash.ts";
import type { IpSet, KernelOpt, SetType } from "../settype.ts";
import { Opt, type UserData } from "../user/data.ts";
import { parseAnyIp } from "../user/parse.ts";
import { printIp } from "../user/print.ts";
import { ADD_EXT, K } from "../user/spec.ts";
import { createHash, eexist, headHash, hostmask, kernelAdt, maskFromTo, sameHash, table, userAdt, userExt, type HashInfo } from "./hash.ts";

const info: HashInfo = {
  layout: {
    hkey: (e, iv) => jhash1(be32(e.ip), iv),
    withNets: false,
    net0: false,
    multi: false,
    netmask: () => {},
  },
  elemSize: 4,
  elemAlign: 4,
  memBase: 216,
  netmask: true,
};

const probe = new Elem();

export const hashIp: SetType = {
  name: "hash:ip",
  aliases: ["iphash"],
  revision: 6,
  family: "ipv46",
  dimension: 1,
  features: IPSET_TYPE_IP,
  user: {
    elem: [{ parse: parseAnyIp, print: printIp, opt: Opt.IP }],
    create: {
      args: [K.family, K.inet, K.inet6, K.hashsize, K.maxelem, K.netmask, K.bitmask, K.timeout, K.counters, K.comment, K.forceadd, K.skbinfo, K.bucketsize, K.initval, K.probes, K.resize, K.gc],
      need: [],
      full: [],
    },
    add: { args: ADD_EXT, need: [Opt.IP], full: [Opt.IP, Opt.IP_TO] },
    del: { args: [], need: [Opt.IP], full: [Opt.IP, Opt.IP_TO] },
    test: { args: [], need: [Opt.IP], full: [Opt.IP, Opt.IP_TO] },
  },
  create: (d, ext, now) => createHash(info, d, ext, now),

  // hash_ip4_uadt()
  uadt(set: IpSet, d: UserData, adt: Adt, flags: number, reg): number {
    const ext = userExt(set, d);
    if (typeof ext === "number") return ext;
    const mask = hostmask(table(set).netmask);
    let ip = (d.ip & mask) >>> 0;
    if (ip === 0) return -IPSET_ERR_HASH_ELEM;
    const e = new Elem();
    e.ip = ip;
    if (adt === IPSET_TEST) return userAdt(set, e, adt, ext, flags, reg.now);
    let ipTo = ip;
    if (d.has(Opt.IP_TO)) {
      ipTo = d.ipTo;
      if (ip > ipTo) {
        if (ipTo === 0) return -IPSET_ERR_HASH_ELEM;
        [ip, ipTo] = [ipTo, ip];
      }
    } else if (d.has(Opt.CIDR)) {
      if (!d.cidr || d.cidr > 32) return -IPSET_ERR_INVALID_CIDR;
      [ip, ipTo] = maskFromTo(ip, d.cidr);
    }
    const netmask = table(set).netmask;
    const hosts = netmask === 32 ? 1 : 2 ** (32 - netmask);
    let ret = 0;
    for (; ip <= ipTo; ) {
      e.ip = ip;
      ret = userAdt(set, e, adt, ext, flags, reg.now);
      if (ret && !eexist(ret, flags)) return ret;
      ip += hosts;
      if (ip > 0xffffffff) return 0;
      ret = 0;
    }
    return ret;
  },

  // hash_ip4_kadt()
  kadt(set: IpSet, pkt: Packet, adt: Adt, o: KernelOpt): number {
    const ip = ((o.dirs[0] ? pkt.saddr : pkt.daddr) & hostmask(table(set).netmask)) >>> 0;
    if (ip === 0) return -EINVAL;
    probe.reset();
    probe.ip = ip;
    return kernelAdt(set, probe, adt, o, pkt.len);
  },

  head: headHash,

  toData(_set: IpSet, e: Elem, d: UserData): void {
    d.ip = e.ip;
    d.flag(Opt.IP);
  },

  sameSet: sameHash,
};
