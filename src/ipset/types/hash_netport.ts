// hash:net,port (ip_set_hash_netport.c, lib/ipset_hash_netport.c): a network and a
// protocol with its port, with nomatch.
import type { Packet } from "../../wire/packet.ts";
import { EINVAL, IPPROTO_ICMP, IPSET_ERR_HASH_RANGE, IPSET_ERR_INVALID_CIDR, IPSET_ERR_INVALID_PROTO, IPSET_ERR_MISSING_PROTO, IPSET_FLAG_NOMATCH, IPSET_TEST, IPSET_TYPE_IP, IPSET_TYPE_NOMATCH, IPSET_TYPE_PORT, protoWithPorts, type Adt } from "../consts.ts";
import { Elem } from "../elem.ts";
import { be16, be32, jhash2 } from "../jhash.ts";
import type { IpSet, KernelOpt, SetType } from "../settype.ts";
import { Opt, type UserData } from "../user/data.ts";
import { parseAnyIp, parseProtoPort } from "../user/parse.ts";
import { printIp, printProtoPort } from "../user/print.ts";
import { ADD_EXT_NOMATCH, HASH_CREATE, K } from "../user/spec.ts";
import { createHash, eexist, enomatch, headHash, hostmask, kernelAdt, maskFromTo, rangeToCidr, sameHash, table, userAdt, userExt, type HashInfo } from "./hash.ts";
import { packetPort } from "./port.ts";

const info: HashInfo = {
  layout: {
    // struct hash_netport4_elem { __be32 ip; __be16 port; u8 proto; u8 cidr:7 (cidr - 1), nomatch:1; }
    hkey: (e, iv) => jhash2(be32(e.ip), be16(e.port) | (e.proto << 16) | ((e.cidr - 1) << 24), iv),
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
const need = [Opt.IP, Opt.PROTO, Opt.PORT];
const full = [Opt.IP, Opt.PROTO, Opt.PORT, Opt.PORT_TO, Opt.CIDR, Opt.IP_TO];

export const hashNetPort: SetType = {
  name: "hash:net,port",
  aliases: ["netporthash"],
  revision: 8,
  family: "ipv46",
  dimension: 2,
  features: IPSET_TYPE_IP | IPSET_TYPE_PORT | IPSET_TYPE_NOMATCH,
  user: {
    elem: [
      { parse: parseAnyIp, print: printIp, opt: Opt.IP },
      { parse: parseProtoPort, print: printProtoPort, opt: Opt.PORT },
    ],
    create: { args: HASH_CREATE, need: [], full: [] },
    add: { args: ADD_EXT_NOMATCH, need, full },
    del: { args: [], need, full },
    test: { args: [K.nomatch], need, full: [Opt.IP, Opt.PROTO, Opt.PORT, Opt.CIDR] },
  },
  create: (d, ext, now) => createHash(info, d, ext, now),

  // hash_netport4_uadt()
  uadt(set: IpSet, d: UserData, adt: Adt, flags: number, reg): number {
    const ext = userExt(set, d);
    if (typeof ext === "number") return ext;
    const e = new Elem();
    e.cidr = 32;
    if (d.has(Opt.CIDR)) {
      if (!d.cidr || d.cidr > 32) return -IPSET_ERR_INVALID_CIDR;
      e.cidr = d.cidr;
    }
    e.port = d.port;
    if (!d.has(Opt.PROTO)) return -IPSET_ERR_MISSING_PROTO;
    e.proto = d.proto;
    let withPorts = protoWithPorts(e.proto);
    if (e.proto === 0) return -IPSET_ERR_INVALID_PROTO;
    if (!(withPorts || e.proto === IPPROTO_ICMP)) e.port = 0;
    withPorts = withPorts && d.has(Opt.PORT_TO);
    if (d.cadt(Opt.NOMATCH)) flags |= IPSET_FLAG_NOMATCH << 16;
    if (adt === IPSET_TEST || !(withPorts || d.has(Opt.IP_TO))) {
      e.ip = (d.ip & hostmask(e.cidr)) >>> 0;
      const ret = userAdt(set, e, adt, ext, flags, reg.now);
      return enomatch(set, ret, flags, adt) ? -ret : eexist(ret, flags) ? 0 : ret;
    }
    let port = e.port;
    let portTo = port;
    if (d.has(Opt.PORT_TO)) {
      portTo = d.portTo;
      if (portTo < port) [port, portTo] = [portTo, port];
    }
    let ip = d.ip;
    let ipTo: number;
    if (d.has(Opt.IP_TO)) {
      ipTo = d.ipTo;
      if (ipTo < ip) [ip, ipTo] = [ipTo, ip];
      if (ip === 0 && ipTo === 0xffffffff) return -IPSET_ERR_HASH_RANGE;
    } else {
      [ip, ipTo] = maskFromTo(ip, e.cidr);
    }
    do {
      e.ip = ip;
      [ip, e.cidr] = rangeToCidr(ip, ipTo);
      for (let p = port; p <= portTo; p++) {
        e.port = p;
        const ret = userAdt(set, e, adt, ext, flags, reg.now);
        if (ret && !eexist(ret, flags)) return ret;
      }
    } while (ip++ < ipTo);
    return 0;
  },

  // hash_netport4_kadt()
  kadt(set: IpSet, pkt: Packet, adt: Adt, o: KernelOpt): number {
    const port = packetPort(pkt, o.dirs[1]!);
    if (port < 0) return -EINVAL;
    probe.reset();
    probe.cidr = adt === IPSET_TEST ? 32 : (table(set).nets.first ?? 32);
    probe.port = port;
    probe.proto = pkt.proto;
    probe.ip = ((o.dirs[0] ? pkt.saddr : pkt.daddr) & hostmask(probe.cidr)) >>> 0;
    return kernelAdt(set, probe, adt, o, pkt.len);
  },

  head: headHash,

  toData(_set: IpSet, e: Elem, d: UserData): void {
    d.ip = e.ip;
    d.port = e.port;
    d.cidr = e.cidr;
    d.proto = e.proto;
    for (const o of [Opt.IP, Opt.PORT, Opt.CIDR, Opt.PROTO]) d.flag(o);
    if (e.nomatch) d.flag(Opt.NOMATCH);
  },

  sameSet: sameHash,
};
