// libipset's data blob (lib/data.c): what a command line parses into, option by option,
// with a flag per option set. The kernel's answers (headers, listed elements) are read
// back into the same blob and printed from it.
import type { SetType } from "../settype.ts";

/** enum ipset_opt (include/libipset/data.h): the numbering orders check_allowed(). */
export const Opt = {
  SETNAME: 1,
  TYPENAME: 2,
  FAMILY: 3,
  IP: 4,
  IP_TO: 5,
  CIDR: 6,
  MARK: 7,
  PORT: 8,
  PORT_TO: 9,
  TIMEOUT: 10,
  GC: 11,
  HASHSIZE: 12,
  MAXELEM: 13,
  MARKMASK: 14,
  NETMASK: 15,
  PROBES: 16,
  RESIZE: 17,
  SIZE: 18,
  FORCEADD: 19,
  BITMASK: 20,
  ELEMENTS: 21,
  REFERENCES: 22,
  MEMSIZE: 23,
  ETHER: 24,
  NAME: 25,
  NAMEREF: 26,
  IP2: 27,
  CIDR2: 28,
  IP2_TO: 29,
  PROTO: 30,
  IFACE: 31,
  SETNAME2: 32,
  EXIST: 33,
  BEFORE: 34,
  PHYSDEV: 35,
  NOMATCH: 36,
  COUNTERS: 37,
  PACKETS: 38,
  BYTES: 39,
  CREATE_COMMENT: 40,
  ADT_COMMENT: 41,
  SKBINFO: 42,
  SKBMARK: 43,
  SKBPRIO: 44,
  SKBQUEUE: 45,
  IFACE_WILDCARD: 46,
  BUCKETSIZE: 47,
  INITVAL: 48,
  FLAGS: 49,
  CADT_FLAGS: 50,
  ELEM: 51,
  TYPE: 52,
} as const;
export type Opt = (typeof Opt)[keyof typeof Opt];

/** IPSET_ADT_FLAGS: the options check_allowed() looks at for add/del/test. */
export const ADT_FLAGS: readonly Opt[] = [
  Opt.IP, Opt.IP_TO, Opt.CIDR, Opt.MARK, Opt.PORT, Opt.PORT_TO, Opt.TIMEOUT, Opt.ETHER, Opt.NAME, Opt.NAMEREF,
  Opt.IP2, Opt.CIDR2, Opt.PROTO, Opt.IFACE, Opt.CADT_FLAGS, Opt.BEFORE, Opt.PHYSDEV, Opt.NOMATCH, Opt.PACKETS,
  Opt.BYTES, Opt.ADT_COMMENT, Opt.SKBMARK, Opt.SKBPRIO, Opt.SKBQUEUE, Opt.IFACE_WILDCARD,
];

/** IPSET_CREATE_FLAGS */
export const CREATE_FLAGS: readonly Opt[] = [
  Opt.FAMILY, Opt.TYPENAME, Opt.TYPE, Opt.IP, Opt.IP_TO, Opt.CIDR, Opt.PORT, Opt.PORT_TO, Opt.TIMEOUT, Opt.GC,
  Opt.HASHSIZE, Opt.MAXELEM, Opt.MARKMASK, Opt.NETMASK, Opt.PROBES, Opt.RESIZE, Opt.SIZE, Opt.COUNTERS,
  Opt.CREATE_COMMENT, Opt.FORCEADD, Opt.SKBINFO, Opt.BITMASK,
];

export const NFPROTO_UNSPEC = 0;
export const NFPROTO_IPV4 = 2;
export const NFPROTO_IPV6 = 10;

export class UserData {
  private readonly flags = new Set<number>();
  /** Flag options as libipset parses them: into cadt_flags, not the option bits. */
  private readonly cadtFlags = new Set<number>();
  private readonly ignored = new Set<number>();
  setname = "";
  setname2 = "";
  typename = "";
  type: SetType | null = null;
  family = NFPROTO_UNSPEC;
  ip = 0;
  ipTo = 0;
  cidr = 32;
  ip2 = 0;
  ip2To = 0;
  cidr2 = 32;
  port = 0;
  portTo = 0;
  proto = 0;
  iface = "";
  name = "";
  nameref = "";
  timeout = 0;
  hashsize = 0;
  maxelem = 0;
  netmask = 32;
  size = 0;
  bucketsize = 0;
  initval = 0;
  packets = 0;
  bytes = 0;
  comment = "";
  elements = 0;
  references = 0;
  memsize = 0;
  revision = 0;
  /** Reports of kind warning piled up while parsing (printed as "Warning: ..."). */
  readonly warnings: string[] = [];

  has(o: Opt): boolean {
    return this.flags.has(o);
  }

  flag(o: Opt): void {
    this.flags.add(o);
  }

  unflag(o: Opt): void {
    this.flags.delete(o);
  }

  /** cadt_flag_type_attr(): a flag given on the command line (nomatch, physdev, ...). */
  setCadt(o: Opt): void {
    this.cadtFlags.add(o);
  }

  /** Whether a flag option is on, given by the user or read back from the kernel. */
  cadt(o: Opt): boolean {
    return this.cadtFlags.has(o) || this.flags.has(o);
  }

  /** ipset_data_ignored(): whether a deprecated option was seen before (marks it). */
  ignoredOnce(o: Opt): boolean {
    const seen = this.ignored.has(o);
    this.ignored.add(o);
    return seen;
  }

  isIgnored(o: Opt): boolean {
    return this.ignored.has(o);
  }

  /** ipset_data_reset() keeps nothing. */
  reset(): void {
    this.flags.clear();
  }
}
