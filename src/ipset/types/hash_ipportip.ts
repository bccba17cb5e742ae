// hash:ip,port,ip (ip_set_hash_ipportip.c, lib/ipset_hash_ipportip.c): address, port
// and a second address, e.g. kube-proxy's KUBE-LOOP-BACK (dst,dst,src: hairpin).
import type { Packet } from "../../wire/packet.ts";
import { EINVAL, IPPROTO_ICMP, IPSET_ERR_INVALID_CIDR, IPSET_ERR_INVALID_PROTO, IPSET_ERR_MISSING_PROTO, IPSET_TEST, IPSET_TYPE_IP, IPSET_TYPE_IP2, IPSET_TYPE_PORT, protoWithPorts, type Adt } from "../consts.ts";
import { Elem } from "../elem.ts";
import { be16, be32, jhash3 } from "../jhash.ts";
import type { IpSet, KernelOpt, SetType } from "../settype.ts";
import { Opt, type UserData } from "../user/data.ts";
import { parseAnyIp, parseProtoPort, parseSingleIp } from "../user/parse.ts";
import { printIp, printProtoPort } from "../user/print.ts";
import { ADD_EXT, HASH_CREATE, HASH_IGNORED } from "../user/spec.ts";
import { createHash, eexist, headHash, kernelAdt, maskFromTo, sameHash, userAdt, userExt, type HashInfo } from "./hash.ts";
import { packetPort } from "./port.ts";

const info: HashInfo = {
  layout: {
    // struct hash_ipportip4_elem { __be32 ip; __be32 ip2; __be16 port; u8 proto; u8 padding; }
    hkey: (e, iv) => jhash3(be32(e.ip), be32(e.ip2), be16(e.port) | (e.proto << 16), iv),
    withNets: false,
    net0: false,
    multi: false,
    netmask: () => {},
  },
  elemSize: 12,
  elemAlign: 4,
  memBase: 208,
  netmask: false,
};

const probe = new Elem();
const need = [Opt.IP, Opt.PROTO, Opt.PORT, Opt.IP2];
const full = [Opt.IP, Opt.IP_TO, Opt.PROTO, Opt.PORT, Opt.PORT_TO, Opt.IP2];

export const hashIpPortIp: SetType = {
  name: "hash:ip,port,ip",
  aliases: ["ipportiphash"],
  revision: 6,
  family: "ipv46",
  dimension: 3,
  features: IPSET_TYPE_IP | IPSET_TYPE_PORT | IPSET_TYPE_IP2,
  user: {
    elem: [
      { parse: parseAnyIp, print: printIp, opt: Opt.IP },
      { parse: parseProtoPort, print: printProtoPort, opt: Opt.PORT },
      { parse: parseSingleIp, print: printIp, opt: Opt.IP2 },
    ],
    create: { args: [...HASH_CREATE, ...HASH_IGNORED], need: [], full: [] },
    add: { args: ADD_EXT, need, full },
    del: { args: [], need, full },
    test: { args: [], need, full: [Opt.IP, Opt.PROTO, Opt.PORT, Opt.IP2] },
  },
  create: (d, ext, now) => createHash(info, d, ext, now),

  // hash_ipportip4_uadt()
  uadt(set: IpSet, d: UserData, adt: Adt, flags: number, reg): number {
    const ext = userExt(set, d);
    if (typeof ext === "number") return ext;
    const e = new Elem();
    e.ip = d.ip;
    e.ip2 = d.ip2;
    e.port = d.port;
    if (!d.has(Opt.PROTO)) return -IPSET_ERR_MISSING_PROTO;
    e.proto = d.proto;
    const withPorts = protoWithPorts(e.proto);
    if (e.proto === 0) return -IPSET_ERR_INVALID_PROTO;
    if (!(withPorts || e.proto === IPPROTO_ICMP)) e.port = 0;
    if (adt === IPSET_TEST || !(d.has(Opt.IP_TO) || d.has(Opt.CIDR) || d.has(Opt.PORT_TO))) {
      const ret = userAdt(set, e, adt, ext, flags, reg.now);
      return eexist(ret, flags) ? 0 : ret;
    }
    let ip = e.ip;
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
    if (withPorts && d.has(Opt.PORT_TO)) {
      portTo = d.portTo;
      if (port > portTo) [port, portTo] = [portTo, port];
    }
    for (; ip <= ipTo; ip++) {
      for (let p = port; p <= portTo; p++) {
        e.ip = ip;
        e.port = p;
        const ret = userAdt(set, e, adt, ext, flags, reg.now);
        if (ret && !eexist(ret, flags)) return ret;
      }
    }
    return 0;
  },

  // hash_ipportip4_kadt()
  kadt(set: IpSet, pkt: Packet, adt: Adt, o: KernelOpt): number {
    const port = packetPort(pkt, o.dirs[1]!);
    if (port < 0) return -EINVAL;
    probe.reset();
    probe.port = port;
    probe.proto = pkt.proto;
    probe.ip = o.dirs[0] ? pkt.saddr : pkt.daddr;
    probe.ip2 = o.dirs[2] ? pkt.saddr : pkt.daddr;
    return kernelAdt(set, probe, adt, o, pkt.len);
  },

  head: headHash,

  toData(_set: IpSet, e: Elem, d: UserData): void {
    d.ip = e.ip;
    d.ip2 = e.ip2;
    d.port = e.port;
    d.proto = e.proto;
    d.flag(Opt.IP);
    d.flag(Opt.IP2);
    d.flag(Opt.PORT);
    d.flag(Opt.PROTO);
  },

  sameSet: sameHash,
};
