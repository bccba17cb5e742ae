// The packet side of ip_set_core.c: ip_set_test / ip_set_add / ip_set_del by set index,
// as xt_set (and list:set for its members) call them.
import type { Packet } from "../wire/packet.ts";
import { ENOTEMPTY, IPSET_ADD, IPSET_DEL, IPSET_ERR_TYPE_MISMATCH, IPSET_FLAG_RETURN_NOMATCH, IPSET_TEST, IPSET_TYPE_NOMATCH } from "./consts.ts";
import type { KernelOpt, SetRegistry } from "./settype.ts";

/** ip_set_test(): >0 match, 0 none (errors and nomatch elements count as none). */
export function ipSetTest(reg: SetRegistry, index: number, pkt: Packet, o: KernelOpt): number {
  const set = reg.get(index);
  if (!set || o.dirs.length < set.type.dimension) return 0;
  let ret = set.type.kadt(set, pkt, IPSET_TEST, o, reg);
  // --return-nomatch: invert matched element
  if (o.cmdflags & IPSET_FLAG_RETURN_NOMATCH && set.type.features & IPSET_TYPE_NOMATCH && (ret > 0 || ret === -ENOTEMPTY)) ret = -ret;
  return ret < 0 ? 0 : ret;
}

/** ip_set_add() */
export function ipSetAdd(reg: SetRegistry, index: number, pkt: Packet, o: KernelOpt): number {
  const set = reg.get(index);
  if (!set || o.dirs.length < set.type.dimension) return -IPSET_ERR_TYPE_MISMATCH;
  return set.type.kadt(set, pkt, IPSET_ADD, o, reg);
}

/** ip_set_del() */
export function ipSetDel(reg: SetRegistry, index: number, pkt: Packet, o: KernelOpt): number {
  const set = reg.get(index);
  if (!set || o.dirs.length < set.type.dimension) return -IPSET_ERR_TYPE_MISMATCH;
  return set.type.kadt(set, pkt, IPSET_DEL, o, reg);
}
