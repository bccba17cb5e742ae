// struct ip_set_type and struct ip_set: what every set type provides (one file each under
// types/), and one set instance. The kernel half (create, uadt, kadt, head, list) and the
// libipset half (element parsers and printers, the options each command takes) together.
import type { Packet } from "../wire/packet.ts";
import type { Adt } from "./consts.ts";
import type { Elem, SetExt } from "./elem.ts";
import type { UserData } from "./user/data.ts";
import type { UserSpec } from "./user/spec.ts";

/** The element store of one set (the part behind set->data). */
export interface SetData {
  /** A copy-on-write draft: changing it leaves this one as it was. */
  fork(): SetData;
  /** Empties the store (list:set gives back its members' references). */
  flush(reg: SetRegistry): void;
  /** Runs the garbage collector work due on the virtual clock up to now. */
  gcCatchUp(now: number, reg: SetRegistry): void;
  /** "Number of entries:" */
  entries(now: number): number;
  /** "Size in memory:" */
  memsize(now: number): number;
  /** The live elements in the kernel's listing order. */
  list(now: number): readonly Elem[];
}

/** The sets of one namespace as a type sees them (list:set names its members). */
export interface SetRegistry {
  get(index: number): IpSet | null;
  find(name: string): number;
  /** __ip_set_get / __ip_set_put */
  ref(index: number, delta: 1 | -1): void;
  readonly now: number;
}

/** What the packet path passes down (struct ip_set_adt_opt, IP_SET_INIT_KEXT). */
export interface KernelOpt {
  /** IPSET_DIM_*_SRC per dimension: true takes the packet's source. */
  dirs: readonly boolean[];
  ifname: string | null;
  now: number;
  /** Counter increments of a match (1 and skb->len); packets < 0 skips the update. */
  packets: number;
  bytes: number;
  /** SET --timeout in seconds, or the set's default. */
  timeout: number;
  /** IPSET_FLAG_EXIST, IPSET_FLAG_RETURN_NOMATCH bits. */
  cmdflags: number;
}

/** libipset's type->family: which families the type accepts. */
export type TypeFamily = "ipv46" | "ipv4" | "unspec";

export interface SetType {
  readonly name: string;
  readonly aliases: readonly string[];
  /** The revision listed ("Revision:"): the highest both kernel and ipset 7.17 know. */
  readonly revision: number;
  readonly family: TypeFamily;
  readonly dimension: number;
  /** IPSET_TYPE_* features: swap needs equal features. */
  readonly features: number;
  readonly user: UserSpec;
  /** type->create(): the store, or a kernel error code (negative). */
  create(d: UserData, ext: SetExt, now: number): SetData | number;
  /** type->uadt(): an element from userspace (ranges expanded here). */
  uadt(set: IpSet, d: UserData, adt: Adt, flags: number, reg: SetRegistry): number;
  /** type->kadt(): the element the packet makes. 1/0/-ENOTEMPTY for test, 0 or -err else. */
  kadt(set: IpSet, pkt: Packet, adt: Adt, o: KernelOpt, reg: SetRegistry): number;
  /** mtype_head(): the type's own header fields into d. */
  head(set: IpSet, d: UserData): void;
  /** mtype_data_list(): one stored element back into userspace data. */
  toData(set: IpSet, e: Elem, d: UserData, reg: SetRegistry): void;
  /** mtype_same_set(): for `-exist create` of an existing set. */
  sameSet(a: IpSet, b: IpSet): boolean;
}

export const NFPROTO_IPV4 = 2;
export const NFPROTO_UNSPEC = 0;

/** struct ip_set: one set of a namespace. */
export class IpSet {
  constructor(
    public name: string,
    readonly type: SetType,
    /** NFPROTO_IPV4 or NFPROTO_UNSPEC (bitmap:port, list:set). */
    readonly family: number,
    readonly ext: SetExt,
    public data: SetData,
  ) {}

  fork(): IpSet {
    return new IpSet(this.name, this.type, this.family, this.ext, this.data.fork());
  }
}
