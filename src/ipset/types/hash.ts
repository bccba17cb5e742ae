// What the hash types share: create (IP_SET_EMIT_CREATE in ip_set_hash_gen.h), the
// header, same_set, the userspace extensions of an element (ip_set_get_extensions), and
// adt with the resize-and-retry of ip_set_core.c call_ad().
import { EAGAIN, ENOMEM, ENOTEMPTY, IPSET_ADD, IPSET_DEL, IPSET_TEST, IPSET_TYPE_NOMATCH, IPSET_FLAG_NOMATCH, IPSET_ERR_EXIST, IPSET_FLAG_EXIST, IPSET_ERR_COMMENT, IPSET_ERR_COUNTER, IPSET_ERR_INVALID_NETMASK, IPSET_ERR_TIMEOUT, type Adt } from "../consts.ts";
import { elemLen, type AddExt, type Elem, type SetExt } from "../elem.ts";
import { AHASH_INIT_SIZE, AHASH_MAX_SIZE, HTable, type HashLayout } from "../htable.ts";
import type { IpSet, KernelOpt } from "../settype.ts";
import { Opt, type UserData } from "../user/data.ts";

const IPSET_DEFAULT_HASHSIZE = 1024;
const IPSET_MIMINAL_HASHSIZE = 64;
const IPSET_DEFAULT_MAXELEM = 65536;

export interface HashInfo {
  layout: HashLayout;
  /** sizeof and alignment of the IPv4 element struct. */
  elemSize: number;
  elemAlign: number;
  /** "Size in memory" of an empty set: sizeof(struct htype) + htable + one region. */
  memBase: number;
  /** IP_SET_HASH_WITH_NETMASK */
  netmask: boolean;
}

/** A hash set's store: the table plus h->netmask. */
export class HashData extends HTable {
  netmask = 32;

  override fork(): HashData {
    return super.fork() as HashData;
  }
}

export function table(set: IpSet): HashData {
  return set.data as unknown as HashData;
}

/** mtype_create() */
export function createHash(info: HashInfo, d: UserData, ext: SetExt, now: number): HashData | number {
  let netmask = 32;
  if (info.netmask && d.has(Opt.NETMASK)) {
    netmask = d.netmask;
    if (netmask > 32 || netmask === 0) return -IPSET_ERR_INVALID_NETMASK;
  }
  let hashsize = IPSET_DEFAULT_HASHSIZE;
  if (d.has(Opt.HASHSIZE)) hashsize = Math.max(d.hashsize, IPSET_MIMINAL_HASHSIZE);
  // htable_size() fails beyond 2^31 buckets; the kvmalloc would fail much earlier.
  if (hashsize > 1 << 24) return -ENOMEM;
  const maxelem = d.has(Opt.MAXELEM) ? d.maxelem : IPSET_DEFAULT_MAXELEM;
  let bucketsize = AHASH_MAX_SIZE;
  if (d.has(Opt.BUCKETSIZE)) {
    bucketsize = d.bucketsize;
    if (bucketsize < AHASH_INIT_SIZE) bucketsize = AHASH_INIT_SIZE;
    else if (bucketsize > AHASH_MAX_SIZE) bucketsize = AHASH_MAX_SIZE;
    else if (bucketsize % 2) bucketsize += 1;
  }
  const dsize = elemLen(info.elemSize, info.elemAlign, ext);
  const t = new HashData(info.layout, ext, dsize, info.memBase, maxelem, d.initval >>> 0, bucketsize, hashsize, now);
  t.netmask = netmask;
  return t;
}

/** mtype_head(): hashsize, maxelem, netmask, bucketsize, initval. */
export function headHash(set: IpSet, d: UserData): void {
  const t = table(set);
  d.hashsize = t.hashsize;
  d.maxelem = t.maxelem;
  d.bucketsize = t.bucketsize;
  d.initval = t.initval;
  d.flag(Opt.HASHSIZE);
  d.flag(Opt.MAXELEM);
  d.flag(Opt.BUCKETSIZE);
  d.flag(Opt.INITVAL);
  if (t.netmask !== 32) {
    d.netmask = t.netmask;
    d.flag(Opt.NETMASK);
  }
}

/** mtype_same_set(): hashsize, initval and bucketsize may differ. */
export function sameHash(a: IpSet, b: IpSet): boolean {
  const x = table(a);
  const y = table(b);
  return x.maxelem === y.maxelem && x.netmask === y.netmask && sameExt(a.ext, b.ext);
}

export function sameExt(a: SetExt, b: SetExt): boolean {
  return a.timeout === b.timeout && a.counters === b.counters && a.comment === b.comment;
}

/** IP_SET_INIT_UEXT + ip_set_get_extensions(): an error code, or the extensions. */
export function userExt(set: IpSet, d: UserData): AddExt | number {
  const ext: AddExt = { timeout: set.ext.timeout ?? 0, packets: null, bytes: null, comment: null };
  if (d.has(Opt.TIMEOUT)) {
    if (set.ext.timeout === null) return -IPSET_ERR_TIMEOUT;
    ext.timeout = d.timeout;
  }
  if (d.has(Opt.BYTES) || d.has(Opt.PACKETS)) {
    if (!set.ext.counters) return -IPSET_ERR_COUNTER;
    if (d.has(Opt.BYTES)) ext.bytes = d.bytes;
    if (d.has(Opt.PACKETS)) ext.packets = d.packets;
  }
  if (d.has(Opt.ADT_COMMENT)) {
    if (!set.ext.comment) return -IPSET_ERR_COMMENT;
    ext.comment = d.comment;
  }
  return ext;
}

/** IP_SET_INIT_KEXT: a packet's add counts itself. */
export function kernelExt(o: KernelOpt, len: number): AddExt {
  return { timeout: o.timeout, packets: 1, bytes: len, comment: null };
}

/** One element from userspace: add resizes the table and retries (call_ad()). */
export function userAdt(set: IpSet, e: Elem, adt: Adt, ext: AddExt, flags: number, now: number): number {
  const t = table(set);
  if (adt === IPSET_ADD) {
    let ret = t.add(e, ext, flags, now);
    while (ret === -EAGAIN) {
      const r = t.resize(now);
      if (r) return r;
      ret = t.add(e, ext, flags, now);
    }
    return ret;
  }
  if (adt === IPSET_DEL) return t.del(e, now);
  return t.test(e, now, -1, 0);
}

/** One element from the packet path: no resize (the kernel cannot resize there). */
export function kernelAdt(set: IpSet, e: Elem, adt: Adt, o: KernelOpt, len: number): number {
  const t = table(set);
  if (adt === IPSET_ADD) {
    t.gcCatchUp(o.now);
    return t.add(e, kernelExt(o, len), o.cmdflags, o.now);
  }
  if (adt === IPSET_DEL) {
    t.gcCatchUp(o.now);
    return t.del(e, o.now);
  }
  return t.test(e, o.now, o.packets, o.bytes);
}

/** ip_set_mask_from_to() */
export function maskFromTo(ip: number, cidr: number): [number, number] {
  const mask = cidr === 0 ? 0 : (0xffffffff << (32 - cidr)) >>> 0;
  const from = (ip & mask) >>> 0;
  return [from, (from | ~mask) >>> 0];
}

export function hostmask(cidr: number): number {
  return cidr === 0 ? 0 : (0xffffffff << (32 - cidr)) >>> 0;
}

/** ip_set_range_to_cidr(): the largest block starting at from within to; [last, cidr]. */
export function rangeToCidr(from: number, to: number): [number, number] {
  for (let i = 1; i < 32; i++) {
    if (((from & hostmask(i)) >>> 0) !== from) continue;
    const last = (from | ~hostmask(i)) >>> 0;
    if (last <= to) return [last, i];
  }
  return [from, 32];
}

/** ip_set_eexist(): an "already added" / "not added" that -exist silences. */
export function eexist(ret: number, flags: number): boolean {
  return ret === -IPSET_ERR_EXIST && (flags & IPSET_FLAG_EXIST) !== 0;
}

/** ip_set_enomatch(): `test ... nomatch` of an element stored as nomatch reports it in. */
export function enomatch(set: IpSet, ret: number, flags: number, adt: Adt): boolean {
  return adt === IPSET_TEST && (set.type.features & IPSET_TYPE_NOMATCH) !== 0 && ((flags >>> 16) & IPSET_FLAG_NOMATCH) !== 0 && (ret > 0 || ret === -ENOTEMPTY);
}
