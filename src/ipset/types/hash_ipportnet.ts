// hash:ip,port,net (ip_set_hash_ipportnet.c, lib/ipset_hash_ipportnet.c): address, port
// and a network, with nomatch; packets are tested once per stored prefix length.
import type { Packet } from "../../wire/packet.ts";
import { EINVAL, IPPROTO_ICMP, IPSET_ERR_HASH_RANGE, IPSET_ERR_INVALID_CIDR, IPSET_ERR_INVALID_PROTO, IPSET_ERR_MISSING_PROTO, IPSET_FLAG_NOMATCH, IPSET_TEST, IPSET_TYPE_IP, IPSET_TYPE_IP2, IPSET_TYPE_NOMATCH, IPSET_TYPE_PORT, protoWithPorts, type Adt } from "../consts.ts";
import { Elem } from "../elem.ts";
import { be16, be32, jhash3 } from "../jhash.ts";
import type { IpSet, KernelOpt, SetType } from "../settype.ts";
import { Opt, type UserData } from "../user/data.ts";
import { parseAnyIp, parseProtoPort } from "../user/parse.ts";
import { printIp, printProtoPort } from "../user/print.ts";
import { ADD_EXT_NOMATCH, HASH_CREATE, HASH_IGNORED, K } from "../user/spec.ts";
import { createHash, eexist, enomatch, headHash, hostmask, kernelAdt, maskFromTo, rangeToCidr, sameHash, table, userAdt, userExt, type HashInfo } from "./hash.ts";
import { packetPort } from "./port.ts";

/** The second network's first and last address: from-to (not the whole space) or the given prefix; a negative errno when refused. */
function net2Range(d: UserData, cidr: number): [number, number] | number {
  if (!d.has(Opt.IP2_TO)) return maskFromTo(d.ip2, cidr);
  let from = d.ip2;
  let to = d.ip2To;
  if (from > to) [from, to] = [to, from];
  if (from === 0 && to === 0xffffffff) return -IPSET_ERR_HASH_RANGE;
  return [from, to];
}

const info: HashInfo = {
  layout: {
    // struct hash_ipportnet4_elem { ip; ip2; __be16 port; u8 cidr:7 (cidr - 1), nomatch:1; u8 proto; }
    hkey: (e, iv) => jhash3(be32(e.ip), be32(e.ip2), be16(e.port) | ((e.cidr - 1) << 16) | (e.proto << 24), iv),
    withNets: true,
    net0: false,
    multi: false,
    netmask: (e, cidr) => {
      e.ip2 = (e.ip2 & hostmask(cidr)) >>> 0;
      e.cidr = cidr;
    },
  },
  elemSize: 12,
  elemAlign: 4,
  memBase: 464,
  netmask: false,
};

const probe = new Elem();
const need = [Opt.IP, Opt.PROTO, Opt.PORT, Opt.IP2];
const full = [Opt.IP, Opt.IP_TO, Opt.PROTO, Opt.PORT, Opt.PORT_TO, Opt.IP2, Opt.CIDR2, Opt.IP2_TO];

export const hashIpPortNet: SetType = {
  name: "hash:ip,port,net",
  aliases: ["ipportnethash"],
  revision: 8,
  family: "ipv46",
  dimension: 3,
  features: IPSET_TYPE_IP | IPSET_TYPE_PORT | IPSET_TYPE_IP2 | IPSET_TYPE_NOMATCH,
  user: {
    elem: [
      { parse: parseAnyIp, print: printIp, opt: Opt.IP },
      { parse: parseProtoPort, print: printProtoPort, opt: Opt.PORT },
      { parse: parseAnyIp, print: printIp, opt: Opt.IP2 },
    ],
    create: { args: [...HASH_CREATE, ...HASH_IGNORED], need: [], full: [] },
    add: { args: ADD_EXT_NOMATCH, need, full },
    del: { args: [], need, full },
    test: { args: [K.nomatch], need, full: [Opt.IP, Opt.PROTO, Opt.PORT, Opt.IP2, Opt.CIDR2] },
  },
  create: (d, ext, now) => createHash(info, d, ext, now),

  // hash_ipportnet4_uadt()
  uadt(set: IpSet, d: UserData, adt: Adt, flags: number, reg): number {
    const ext = userExt(set, d);
    if (typeof ext === "number") return ext;
    const e = new Elem();
    e.cidr = 32;
    if (d.has(Opt.CIDR2)) {
      if (!d.cidr2 || d.cidr2 > 32) return -IPSET_ERR_INVALID_CIDR;
      e.cidr = d.cidr2;
    }
    e.port = d.port;
    if (!d.has(Opt.PROTO)) return -IPSET_ERR_MISSING_PROTO;
    e.proto = d.proto;
    let withPorts = protoWithPorts(e.proto);
    if (e.proto === 0) return -IPSET_ERR_INVALID_PROTO;
    if (!(withPorts || e.proto === IPPROTO_ICMP)) e.port = 0;
    if (d.cadt(Opt.NOMATCH)) flags |= IPSET_FLAG_NOMATCH << 16;
    withPorts = withPorts && d.has(Opt.PORT_TO);
    if (adt === IPSET_TEST || !(d.has(Opt.CIDR) || d.has(Opt.IP_TO) || withPorts || d.has(Opt.IP2_TO))) {
      e.ip = d.ip;
      e.ip2 = (d.ip2 & hostmask(e.cidr)) >>> 0;
      const ret = userAdt(set, e, adt, ext, flags, reg.now);
      return enomatch(set, ret, flags, adt) ? -ret : eexist(ret, flags) ? 0 : ret;
    }
    let ip = d.ip;
    let ipTo = ip;
    if (d.has(Opt.IP_TO)) {
      ipTo = d.ipTo;
      if (ip > ipTo) [ip, ipTo] = [ipTo, ip];
    } else if (d.has(Opt.CIDR)) {
      if (!d.cidr || d.cidr > 32) return -IPSET_ERR_INVALID_CIDR;
      [ip, ipTo] = maskFromTo(ip, d.cidr);
    }
    let port = e.port;
    let portTo = port;
    if (d.has(Opt.PORT_TO)) {
      portTo = d.portTo;
      if (port > portTo) [port, portTo] = [portTo, port];
    }
    const net2 = net2Range(d, e.cidr);
    if (typeof net2 === "number") return net2;
    const [ip2From, ip2To] = net2;
    for (; ip <= ipTo; ip++) {
      e.ip = ip;
      for (let p = port; p <= portTo; p++) {
        e.port = p;
        let ip2 = ip2From;
        do {
          e.ip2 = ip2;
          [ip2, e.cidr] = rangeToCidr(ip2, ip2To);
          const ret = userAdt(set, e, adt, ext, flags, reg.now);
          if (ret && !eexist(ret, flags)) return ret;
        } while (ip2++ < ip2To);
      }
    }
    return 0;
  },

  // hash_ipportnet4_kadt()
  kadt(set: IpSet, pkt: Packet, adt: Adt, o: KernelOpt): number {
    const port = packetPort(pkt, o.dirs[1]!);
    if (port < 0) return -EINVAL;
    probe.reset();
    probe.cidr = adt === IPSET_TEST ? 32 : (table(set).nets.first ?? 32);
    probe.port = port;
    probe.proto = pkt.proto;
    probe.ip = o.dirs[0] ? pkt.saddr : pkt.daddr;
    probe.ip2 = ((o.dirs[2] ? pkt.saddr : pkt.daddr) & hostmask(probe.cidr)) >>> 0;
    return kernelAdt(set, probe, adt, o, pkt.len);
  },

  head: headHash,

  toData(_set: IpSet, e: Elem, d: UserData): void {
    d.ip = e.ip;
    d.ip2 = e.ip2;
    d.port = e.port;
    d.cidr2 = e.cidr;
    d.proto = e.proto;
    for (const o of [Opt.IP, Opt.IP2, Opt.PORT, Opt.CIDR2, Opt.PROTO]) d.flag(o);
    if (e.nomatch) d.flag(Opt.NOMATCH);
  },

  sameSet: sameHash,
};
