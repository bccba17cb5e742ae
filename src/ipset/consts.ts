// Constants of the kernel's ipset core (include/uapi/linux/netfilter/ipset/ip_set.h and
// friends): error codes, type features, command flags, extension sizes.

export const IPSET_VERSION = "7.17";
export const IPSET_PROTOCOL = 7;
export const IPSET_MAXNAMELEN = 32;
export const IPSET_MAX_COMMENT_SIZE = 255;
export const IFNAMSIZ = 16;

// enum ipset_errno
export const ENOENT = 2;
export const ENOMEM = 12;
export const EEXIST = 17;
export const EINVAL = 22;
export const ERANGE = 34;
export const ENOTEMPTY = 39;
export const EAGAIN = 11;
export const EBUSY = 16;
export const IPSET_ERR_PRIVATE = 4096;
export const IPSET_ERR_PROTOCOL = 4097;
export const IPSET_ERR_FIND_TYPE = 4098;
export const IPSET_ERR_MAX_SETS = 4099;
export const IPSET_ERR_BUSY = 4100;
export const IPSET_ERR_EXIST_SETNAME2 = 4101;
export const IPSET_ERR_TYPE_MISMATCH = 4102;
export const IPSET_ERR_EXIST = 4103;
export const IPSET_ERR_INVALID_CIDR = 4104;
export const IPSET_ERR_INVALID_NETMASK = 4105;
export const IPSET_ERR_INVALID_FAMILY = 4106;
export const IPSET_ERR_TIMEOUT = 4107;
export const IPSET_ERR_REFERENCED = 4108;
export const IPSET_ERR_IPADDR_IPV4 = 4109;
export const IPSET_ERR_IPADDR_IPV6 = 4110;
export const IPSET_ERR_COUNTER = 4111;
export const IPSET_ERR_COMMENT = 4112;
export const IPSET_ERR_INVALID_MARKMASK = 4113;
export const IPSET_ERR_SKBINFO = 4114;
export const IPSET_ERR_TYPE_SPECIFIC = 4352;
// ip_set_hash.h
export const IPSET_ERR_HASH_FULL = 4352;
export const IPSET_ERR_HASH_ELEM = 4353;
export const IPSET_ERR_INVALID_PROTO = 4354;
export const IPSET_ERR_MISSING_PROTO = 4355;
export const IPSET_ERR_HASH_RANGE_UNSUPPORTED = 4356;
export const IPSET_ERR_HASH_RANGE = 4357;
// ip_set_bitmap.h
export const IPSET_ERR_BITMAP_RANGE = 4352;
export const IPSET_ERR_BITMAP_RANGE_SIZE = 4353;
// ip_set_list.h
export const IPSET_ERR_NAME = 4352;
export const IPSET_ERR_LOOP = 4353;
export const IPSET_ERR_BEFORE = 4354;
export const IPSET_ERR_NAMEREF = 4355;
export const IPSET_ERR_LIST_FULL = 4356;
export const IPSET_ERR_REF_EXIST = 4357;

// enum ipset_cmd (the ones errcode.c distinguishes)
export type IpsetCmd = "create" | "destroy" | "flush" | "rename" | "swap" | "list" | "save" | "add" | "del" | "test";

// enum ipset_adt
export const IPSET_ADD = 0;
export const IPSET_DEL = 1;
export const IPSET_TEST = 2;
export type Adt = typeof IPSET_ADD | typeof IPSET_DEL | typeof IPSET_TEST;

// enum ipset_cmd_flags / ipset_cadt_flags
export const IPSET_FLAG_EXIST = 1 << 0;
export const IPSET_FLAG_NOMATCH = 1 << 2;
/** IPSET_FLAG_RETURN_NOMATCH (enum ipset_cmd_flags): --return-nomatch */
export const IPSET_FLAG_RETURN_NOMATCH = 1 << 7;

// Type features (enum ip_set_feature)
export const IPSET_TYPE_IP = 1 << 0;
export const IPSET_TYPE_PORT = 1 << 1;
export const IPSET_TYPE_IP2 = 1 << 3;
export const IPSET_TYPE_NAME = 1 << 5;
export const IPSET_TYPE_IFACE = 1 << 6;
export const IPSET_TYPE_NOMATCH = 1 << 8;
export const IPSET_DUMP_LAST = 1 << 10;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;
export const IPPROTO_UDPLITE = 136;

/** ip_set_getport.h ip_set_proto_with_ports() */
export function protoWithPorts(proto: number): boolean {
  return proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP || proto === IPPROTO_UDPLITE;
}

/** IPSET_GC_PERIOD(timeout) in seconds */
export function gcPeriod(timeout: number): number {
  const t = Math.floor(timeout / 3);
  return t ? Math.min(t, 3 * 60) : 1;
}

/** The largest timeout userspace accepts: (UINT_MAX >> 1) / 1000. */
export const IPSET_MAX_TIMEOUT = 2147483;
/** The most elements a bitmap:ip may have, less one. */
export const IPSET_BITMAP_MAX_RANGE = 0xffff;
