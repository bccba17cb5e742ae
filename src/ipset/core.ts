// The userspace-facing half of ip_set_core.c: create, destroy, flush, rename, swap and
// add/del/test on a namespace's draft. Each returns 0 or a negative kernel error code,
// like the netlink handlers it models.
import * as C from "./consts.ts";
import type { SetExt } from "./elem.ts";
import { IpSet, NFPROTO_IPV4, NFPROTO_UNSPEC, type SetType } from "./settype.ts";
import type { Txn } from "./store.ts";
import { Opt, type UserData } from "./user/data.ts";

/** ip_set_create(): type->create(), then find_free_id() and the -exist same-set check. */
export function createSet(tx: Txn, type: SetType, d: UserData, flags: number): number {
  const ext: SetExt = {
    timeout: d.has(Opt.TIMEOUT) ? d.timeout : null,
    counters: d.cadt(Opt.COUNTERS),
    comment: d.cadt(Opt.CREATE_COMMENT),
    forceadd: d.cadt(Opt.FORCEADD),
  };
  const data = type.create(d, ext, tx.now);
  if (typeof data === "number") return data;
  const family = type.family === "unspec" ? NFPROTO_UNSPEC : NFPROTO_IPV4;
  const set = new IpSet(d.setname, type, family, ext, data);
  const clash = tx.find(d.setname);
  if (clash >= 0) {
    const other = tx.get(clash)!;
    if (flags & C.IPSET_FLAG_EXIST && other.type === type && type.sameSet(set, other)) return 0;
    return -C.EEXIST;
  }
  tx.insert(set);
  return 0;
}

/** The member references a list:set gives back when it goes away (list_set_destroy). */
function release(tx: Txn, index: number): void {
  const set = tx.own(index);
  if (set.type.features & C.IPSET_TYPE_NAME) set.data.flush(tx);
}

/** ip_set_destroy(): one set, or all when name is null. */
export function destroySets(tx: Txn, name: string | null, flags: number): number {
  if (name === null) {
    for (const i of tx.indexes()) if (tx.refsOf(i)) return -C.IPSET_ERR_BUSY;
    for (const i of tx.indexes()) release(tx, i);
    for (const i of tx.indexes()) tx.remove(i);
    return 0;
  }
  const i = tx.find(name);
  if (i < 0) return flags & C.IPSET_FLAG_EXIST ? 0 : -C.ENOENT;
  if (tx.refsOf(i)) return -C.IPSET_ERR_BUSY;
  release(tx, i);
  tx.remove(i);
  return 0;
}

/** ip_set_flush() */
export function flushSets(tx: Txn, name: string | null): number {
  const targets = name === null ? tx.indexes() : [tx.find(name)];
  if (targets[0] === -1) return -C.ENOENT;
  for (const i of targets) tx.own(i).data.flush(tx);
  return 0;
}

/** ip_set_rename(): not while referenced, not onto an existing name. */
export function renameSet(tx: Txn, from: string, to: string): number {
  const i = tx.find(from);
  if (i < 0) return -C.ENOENT;
  if (tx.refsOf(i)) return -C.IPSET_ERR_REFERENCED;
  if (tx.find(to) >= 0) return -C.IPSET_ERR_EXIST_SETNAME2;
  tx.place(i, renamed(tx.get(i)!, to));
  return 0;
}

/** ip_set_swap(): the sets trade index and name; references stay with the index. */
export function swapSets(tx: Txn, from: string, to: string): number {
  const a = tx.find(from);
  if (a < 0) return -C.ENOENT;
  const b = tx.find(to);
  if (b < 0) return -C.IPSET_ERR_EXIST_SETNAME2;
  const x = tx.get(a)!;
  const y = tx.get(b)!;
  if (x.type.features !== y.type.features || x.family !== y.family) return -C.IPSET_ERR_TYPE_MISMATCH;
  tx.place(a, renamed(y, x.name));
  tx.place(b, renamed(x, y.name));
  return 0;
}

function renamed(set: IpSet, name: string): IpSet {
  return new IpSet(name, set.type, set.family, set.ext, set.data);
}

/** call_ad() / ip_set_utest(): an element from userspace. test: >0 in set, 0 not. */
export function adtSet(tx: Txn, index: number, d: UserData, adt: C.Adt, flags: number): number {
  if (adt === C.IPSET_TEST) {
    // ip_set_utest(): every failure reads as "not in set"
    const set = tx.get(index)!;
    return set.type.uadt(set, d, adt, flags, tx) > 0 ? 1 : 0;
  }
  const set = tx.own(index);
  return set.type.uadt(set, d, adt, flags, tx);
}
