// The set types pktpath models, by name (ip_set_type_register). Adding a type is one new
// file under types/ and one line here.
import type { SetType } from "../settype.ts";
import { hashIp } from "./hash_ip.ts";
import { hashIpPort } from "./hash_ipport.ts";
import { hashIpPortIp } from "./hash_ipportip.ts";
import { hashIpPortNet } from "./hash_ipportnet.ts";
import { hashNet } from "./hash_net.ts";
import { hashNetPort } from "./hash_netport.ts";
import { hashNetIface } from "./hash_netiface.ts";
import { bitmapIp } from "./bitmap_ip.ts";
import { bitmapPort } from "./bitmap_port.ts";
import { listSet } from "./list_set.ts";

export const SET_TYPES: readonly SetType[] = [
  bitmapIp,
  bitmapPort,
  hashIp,
  hashIpPort,
  hashIpPortIp,
  hashIpPortNet,
  hashNet,
  hashNetPort,
  hashNetIface,
  listSet,
];

/** Types ipset 7.17 knows that pktpath does not model. */
const UNMODELLED = ["bitmap:ip,mac", "macipmap", "hash:mac", "machash", "hash:ip,mac", "ipmachash", "hash:ip,mark", "ipmarkhash", "hash:net,net", "netnethash", "hash:net,port,net", "netportnethash"];

/** ipset_typename_resolve(): by name or alias. */
export function findType(name: string): SetType | null {
  return SET_TYPES.find((t) => t.name === name || t.aliases.includes(name)) ?? null;
}

export function isUnmodelledType(name: string): boolean {
  return UNMODELLED.includes(name);
}
