// hash:net (ip_set_hash_net.c, lib/ipset_hash_net.c): networks of any prefix length,
// with nomatch exceptions; a packet matches the most specific stored network.
import type { Packet } from "../../wire/packet.ts";
import { EINVAL, IPSET_ERR_HASH_RANGE, IPSET_ERR_INVALID_CIDR, IPSET_FLAG_NOMATCH, IPSET_TEST, IPSET_TYPE_IP, IPSET_TYPE_NOMATCH, type Adt } from "../consts.ts";
import { Elem } from "../elem.ts";
import { be32, jhash2 } from "../jhash.ts";
import type { IpSet, KernelOpt, SetType } from "../settype.ts";
import { Opt, type UserData } from "../user/data.ts";
import { parseAnyIp } from "../user/parse.ts";
import { printIp } from "../user/print.ts";
import { ADD_EXT_NOMATCH, HASH_CREATE, K } from "../user/spec.ts";
import { createHash, eexist, enomatch, headHash, hostmask, kernelAdt, rangeToCidr, sameHash, table, userAdt, userExt, type HashInfo } from "./hash.ts";

const info: HashInfo = {
  layout: {
    // struct hash_net4_elem { __be32 ip; u16 padding0; u8 nomatch; u8 cidr; }
    hkey: (e, iv) => jhash2(be32(e.ip), e.cidr << 24, iv),
    withNets: true,
    net0: false,
    multi: false,
    netmask: (e, cidr) => {
      e.ip = (e.ip & hostmask(cidr)) >>> 0;
      e.cidr = cidr;
    },
  },
  elemSize: 8,
  elemAlign: 4,
  memBase: 456,
  netmask: false,
};

const probe = new Elem();

export const hashNet: SetType = {
  name: "hash:net",
  aliases: ["nethash"],
  revision: 7,
  family: "ipv46",
  dimension: 1,
  features: IPSET_TYPE_IP | IPSET_TYPE_NOMATCH,
  user: {
    elem: [{ parse: parseAnyIp, print: printIp, opt: Opt.IP }],
    create: { args: [...HASH_CREATE, K.probes, K.resize], need: [], full: [] },
    add: { args: ADD_EXT_NOMATCH, need: [Opt.IP], full: [Opt.IP, Opt.CIDR, Opt.IP_TO] },
    del: { args: [], need: [Opt.IP], full: [Opt.IP, Opt.CIDR, Opt.IP_TO] },
    test: { args: [K.nomatch], need: [Opt.IP], full: [Opt.IP, Opt.CIDR] },
  },
  create: (d, ext, now) => createHash(info, d, ext, now),

  // hash_net4_uadt()
  uadt(set: IpSet, d: UserData, adt: Adt, flags: number, reg): number {
    const ext = userExt(set, d);
    if (typeof ext === "number") return ext;
    const e = new Elem();
    e.cidr = 32;
    if (d.has(Opt.CIDR)) {
      if (!d.cidr || d.cidr > 32) return -IPSET_ERR_INVALID_CIDR;
      e.cidr = d.cidr;
    }
    if (d.cadt(Opt.NOMATCH)) flags |= IPSET_FLAG_NOMATCH << 16;
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

  // hash_net4_kadt()
  kadt(set: IpSet, pkt: Packet, adt: Adt, o: KernelOpt): number {
    probe.reset();
    probe.cidr = adt === IPSET_TEST ? 32 : (table(set).nets.first ?? 32);
    if (probe.cidr === 0) return -EINVAL;
    probe.ip = ((o.dirs[0] ? pkt.saddr : pkt.daddr) & hostmask(probe.cidr)) >>> 0;
    return kernelAdt(set, probe, adt, o, pkt.len);
  },

  head: headHash,

  toData(_set: IpSet, e: Elem, d: UserData): void {
    d.ip = e.ip;
    d.cidr = e.cidr;
    d.flag(Opt.IP);
    d.flag(Opt.CIDR);
    if (e.nomatch) d.flag(Opt.NOMATCH);
  },

  sameSet: sameHash,
};
