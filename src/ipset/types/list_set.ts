// list:set (ip_set_list_set.c, lib/ipset_list_set.c): an ordered list of other sets; a
// packet matches when one member matches, an add goes to the first member that takes it.
// Each membership holds a reference on the member set.
import type { Packet } from "../../wire/packet.ts";
import { IPSET_ADD, IPSET_DEL, IPSET_ERR_BEFORE, IPSET_ERR_EXIST, IPSET_ERR_LOOP, IPSET_ERR_NAME, IPSET_ERR_NAMEREF, IPSET_ERR_REF_EXIST, IPSET_FLAG_EXIST, IPSET_TEST, IPSET_TYPE_NAME, IPSET_DUMP_LAST, gcPeriod, type Adt } from "../consts.ts";
import { Elem, commentSize, elemLen, expired, timeoutSet, type AddExt, type SetExt } from "../elem.ts";
import { ipSetAdd, ipSetDel, ipSetTest } from "../kernel.ts";
import type { IpSet, KernelOpt, SetData, SetRegistry, SetType } from "../settype.ts";
import { Opt, type UserData } from "../user/data.ts";
import { parseNameCompat, parseSetname } from "../user/parse.ts";
import { printName } from "../user/print.ts";
import { K } from "../user/spec.ts";
import { eexist, sameExt, userExt } from "./hash.ts";

const IP_SET_LIST_DEFAULT_SIZE = 8;
const IP_SET_LIST_MIN_SIZE = 4;

export class ListData implements SetData {
  members: Elem[] = [];
  count = 0;
  setExtSize = 0;
  gcNext: number;

  constructor(
    readonly size: number,
    readonly ext: SetExt,
    readonly dsize: number,
    now: number,
  ) {
    this.gcNext = now + gcPeriod(ext.timeout ?? 0) * 1000;
  }

  fork(): ListData {
    const l = Object.create(Object.getPrototypeOf(this) as object) as ListData;
    Object.assign(l, this);
    l.members = this.members.map((e) => e.clone());
    return l;
  }

  isExpired(e: Elem, now: number): boolean {
    return this.ext.timeout !== null && expired(e.timeout, now);
  }

  initExt(e: Elem, ext: AddExt, now: number): void {
    if (this.ext.counters) {
      if (ext.bytes !== null) e.bytes = ext.bytes;
      if (ext.packets !== null) e.packets = ext.packets;
    }
    if (this.ext.comment) {
      this.destroyExt(e);
      if (ext.comment) {
        e.comment = ext.comment;
        this.setExtSize += commentSize(ext.comment);
      }
    }
    if (this.ext.timeout !== null) e.timeout = timeoutSet(now, ext.timeout);
  }

  destroyExt(e: Elem): void {
    if (e.comment !== null) this.setExtSize -= commentSize(e.comment);
    e.comment = null;
  }

  /** list_set_del() */
  remove(e: Elem, reg: SetRegistry): void {
    this.count--;
    this.members.splice(this.members.indexOf(e), 1);
    reg.ref(e.id, -1);
    this.destroyExt(e);
  }

  flush(reg: SetRegistry): void {
    for (const e of [...this.members]) this.remove(e, reg);
    this.members = [];
    this.count = 0;
    this.setExtSize = 0;
  }

  /** set_cleanup_entries() on the gc timer */
  gcCatchUp(now: number, reg: SetRegistry): void {
    if (this.ext.timeout === null || this.gcNext > now) return;
    const period = gcPeriod(this.ext.timeout) * 1000;
    const last = this.gcNext + Math.floor((now - this.gcNext) / period) * period;
    for (const e of [...this.members]) if (expired(e.timeout, last)) this.remove(e, reg);
    this.gcNext = last + period;
  }

  entries(): number {
    return this.count;
  }

  memsize(): number {
    return 80 + this.members.length * this.dsize + this.setExtSize;
  }

  list(now: number): Elem[] {
    return this.members.filter((e) => !this.isExpired(e, now));
  }
}

function data(set: IpSet): ListData {
  return set.data as ListData;
}

/** list_set_utest() */
function utest(l: ListData, id: number, before: number, refid: number, now: number): number {
  let prev: Elem | null = null;
  const live = l.members.filter((e) => !l.isExpired(e, now));
  for (let i = 0; i < live.length; i++) {
    const e = live[i]!;
    if (e.id !== id) {
      prev = e;
      continue;
    }
    if (before === 0) return 1;
    if (before > 0) return i + 1 < live.length && live[i + 1]!.id === refid ? 1 : 0;
    return prev && prev.id === refid ? 1 : 0;
  }
  return 0;
}

/** list_set_uadd() */
function uadd(l: ListData, id: number, before: number, refid: number, ext: AddExt, flags: number, reg: SetRegistry): number {
  const now = reg.now;
  let n: Elem | null = null;
  let prev: Elem | null = null;
  let next: Elem | null = null;
  for (const e of l.members) {
    if (l.isExpired(e, now)) continue;
    else if (id === e.id) n = e;
    else if (before === 0 || e.id !== refid) continue;
    else if (before > 0) next = e;
    else prev = e;
  }
  if ((before > 0 && !next) || (before < 0 && !prev)) return -IPSET_ERR_REF_EXIST;
  if (n) {
    if (!(flags & IPSET_FLAG_EXIST)) return -IPSET_ERR_EXIST;
    l.destroyExt(n);
    l.initExt(n, ext, now);
    reg.ref(id, -1);
    return 0;
  }
  const ms = l.members;
  let at: number;
  if (before === 0) at = ms.length;
  else if (before > 0) at = ms.indexOf(next!);
  else at = ms.indexOf(prev!) + 1;
  // Can we replace a timed out entry? (the neighbour the new one would sit by)
  const nb = before === 0 ? ms[ms.length - 1] : before > 0 ? ms[at + 1] : ms[at - 2];
  const e = new Elem();
  e.id = id;
  l.initExt(e, ext, now);
  if (nb && l.isExpired(nb, now)) {
    const i = ms.indexOf(nb);
    ms[i] = e;
    reg.ref(nb.id, -1);
    l.destroyExt(nb);
  } else {
    ms.splice(at, 0, e);
  }
  l.count++;
  return 0;
}

/** list_set_udel() */
function udel(l: ListData, id: number, before: number, refid: number, reg: SetRegistry): number {
  const live = l.members.filter((e) => !l.isExpired(e, reg.now));
  for (let i = 0; i < live.length; i++) {
    const e = live[i]!;
    if (e.id !== id) continue;
    if (before > 0 && !(i + 1 < live.length && live[i + 1]!.id === refid)) return -IPSET_ERR_REF_EXIST;
    if (before < 0 && !(i > 0 && live[i - 1]!.id === refid)) return -IPSET_ERR_REF_EXIST;
    l.remove(e, reg);
    return 0;
  }
  return before !== 0 ? -IPSET_ERR_REF_EXIST : -IPSET_ERR_EXIST;
}

export const listSet: SetType = {
  name: "list:set",
  aliases: ["setlist"],
  revision: 3,
  family: "unspec",
  dimension: 1,
  features: IPSET_TYPE_NAME | IPSET_DUMP_LAST,
  user: {
    elem: [{ parse: parseSetname, print: printName, opt: Opt.NAME }],
    compatParseElem: parseNameCompat,
    create: { args: [K.size, K.timeout, K.counters, K.comment, K.skbinfo], need: [], full: [] },
    add: { args: [K.timeout, K.before, K.after, K.packets, K.bytes, K.adtComment, K.skbmark, K.skbprio, K.skbqueue], need: [Opt.NAME], full: [Opt.NAME, Opt.BEFORE] },
    del: { args: [K.before, K.after], need: [Opt.NAME], full: [Opt.NAME, Opt.BEFORE] },
    test: { args: [K.before, K.after], need: [Opt.NAME], full: [Opt.NAME, Opt.BEFORE] },
  },

  create(d, ext, now) {
    let size = d.has(Opt.SIZE) ? d.size : IP_SET_LIST_DEFAULT_SIZE;
    if (size < IP_SET_LIST_MIN_SIZE) size = IP_SET_LIST_MIN_SIZE;
    return new ListData(size, ext, elemLen(48, 8, ext), now);
  },

  // list_set_uadt()
  uadt(set: IpSet, d: UserData, adt: Adt, flags: number, reg): number {
    const l = data(set);
    const ext = userExt(set, d);
    if (typeof ext === "number") return ext;
    const id = reg.find(d.name);
    if (id < 0) return -IPSET_ERR_NAME;
    reg.ref(id, 1);
    let ret: number;
    let refid = -1;
    let before = d.cadt(Opt.BEFORE) ? 1 : 0;
    if (reg.get(id)!.type.features & IPSET_TYPE_NAME) ret = -IPSET_ERR_LOOP;
    else if (before && !d.has(Opt.NAMEREF)) ret = -IPSET_ERR_BEFORE;
    else {
      if (d.has(Opt.NAMEREF)) {
        refid = reg.find(d.nameref);
        if (refid >= 0) reg.ref(refid, 1);
        if (!before) before = -1;
      }
      if (d.has(Opt.NAMEREF) && refid < 0) ret = -IPSET_ERR_NAMEREF;
      else {
        if (adt !== IPSET_TEST && set.ext.timeout !== null) {
          for (const e of [...l.members]) if (expired(e.timeout, reg.now)) l.remove(e, reg);
        }
        if (adt === IPSET_ADD) ret = uadd(l, id, before, refid, ext, flags, reg);
        else if (adt === IPSET_DEL) ret = udel(l, id, before, refid, reg);
        else ret = utest(l, id, before, refid, reg.now);
      }
    }
    if (refid >= 0) reg.ref(refid, -1);
    if (adt !== IPSET_ADD || ret) reg.ref(id, -1);
    return eexist(ret, flags) ? 0 : ret;
  },

  // list_set_kadt()
  kadt(set: IpSet, pkt: Packet, adt: Adt, o: KernelOpt, reg: SetRegistry): number {
    const l = data(set);
    for (const e of l.members) {
      if (adt === IPSET_TEST) {
        if (ipSetTest(reg, e.id, pkt, o) <= 0) continue;
        if (l.isExpired(e, o.now)) continue;
        if (l.ext.counters && o.packets >= 0) {
          e.packets += o.packets;
          e.bytes += o.bytes;
        }
        return 1;
      }
      if (l.isExpired(e, o.now)) continue;
      const ret = adt === IPSET_ADD ? ipSetAdd(reg, e.id, pkt, o) : ipSetDel(reg, e.id, pkt, o);
      if (ret === 0) return 0;
    }
    return 0;
  },

  head(set: IpSet, d: UserData): void {
    d.size = data(set).size;
    d.flag(Opt.SIZE);
  },

  toData(_set: IpSet, e: Elem, d: UserData, reg: SetRegistry): void {
    d.name = reg.get(e.id)?.name ?? "";
    d.flag(Opt.NAME);
  },

  sameSet(a: IpSet, b: IpSet): boolean {
    return data(a).size === data(b).size && sameExt(a.ext, b.ext);
  },
};
