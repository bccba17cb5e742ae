// `ipset list` and `ipset save` output (lib/session.c list_create/list_adt, the sorted
// printing of bystrcmp()): headers and members in the plain and save formats.
import { IPSET_DUMP_LAST } from "../consts.ts";
import { timeoutGet, type Elem } from "../elem.ts";
import type { IpSet, SetRegistry } from "../settype.ts";
import { Opt, UserData, NFPROTO_IPV4, NFPROTO_UNSPEC } from "./data.ts";
import { printElem } from "./print.ts";
import { bystrcmp } from "./sort.ts";

export interface ListOptions {
  mode: "plain" | "save";
  /** -t: headers only */
  terse: boolean;
  /** -n: names only */
  names: boolean;
  /** -s: members sorted (hash types) */
  sorted: boolean;
}

/** The family the type itself stands for (libipset type->family). */
function typeFamily(set: IpSet): number {
  return set.type.family === "ipv4" ? NFPROTO_IPV4 : set.type.family === "unspec" ? NFPROTO_UNSPEC : 255;
}

/** mtype_head() and ip_set_put_flags() read back into a data blob. */
export function headerData(set: IpSet, refs: number, now: number): UserData {
  const d = new UserData();
  d.type = set.type;
  d.setname = set.name;
  d.family = set.family;
  d.flag(Opt.FAMILY);
  set.type.head(set, d);
  if (set.ext.timeout !== null) {
    d.timeout = set.ext.timeout;
    d.flag(Opt.TIMEOUT);
  }
  if (set.ext.counters) d.flag(Opt.COUNTERS);
  if (set.ext.comment) d.flag(Opt.CREATE_COMMENT);
  d.references = refs;
  d.memsize = set.data.memsize(now);
  d.elements = set.data.entries(now);
  return d;
}

function headerArgs(set: IpSet, d: UserData): string {
  let out = "";
  for (const arg of set.type.user.create.args) {
    if (!arg.print || !d.has(arg.opt)) continue;
    if (arg.opt === Opt.FAMILY && d.family === typeFamily(set)) continue;
    out += arg.hasArg ? ` ${arg.name[0]} ${arg.print(d, arg.opt)}` : ` ${arg.name[0]}`;
  }
  return out;
}

/** list_adt(): one member with its extensions. */
export function memberText(set: IpSet, e: Elem, reg: SetRegistry, now: number): string {
  const d = new UserData();
  d.type = set.type;
  d.family = set.family === NFPROTO_UNSPEC ? NFPROTO_UNSPEC : NFPROTO_IPV4;
  set.type.toData(set, e, d, reg);
  if (set.ext.timeout !== null) {
    d.timeout = timeoutGet(e.timeout, now);
    d.flag(Opt.TIMEOUT);
  }
  if (set.ext.counters) {
    d.packets = e.packets;
    d.bytes = e.bytes;
    d.flag(Opt.PACKETS);
    d.flag(Opt.BYTES);
  }
  if (set.ext.comment && e.comment !== null) {
    d.comment = e.comment;
    d.flag(Opt.ADT_COMMENT);
  }
  let out = printElem(set.type, d);
  for (const arg of set.type.user.add.args) {
    if (!arg.print || !d.has(arg.opt)) continue;
    out += arg.hasArg ? ` ${arg.name[0]} ${arg.print(d, arg.opt)}` : ` ${arg.name[0]}`;
  }
  return out;
}

/** The listing of one set as `ipset list` / `ipset save` prints it. */
export function listSet(set: IpSet, refs: number, reg: SetRegistry, o: ListOptions, first: boolean, now: number): string {
  if (o.names) return `${set.name}\n`;
  const d = headerData(set, refs, now);
  let out: string;
  if (o.mode === "save") {
    out = `create ${set.name} ${set.type.name}${headerArgs(set, d)}\n`;
  } else {
    out = `${first ? "" : "\n"}Name: ${set.name}\nType: ${set.type.name}\nRevision: ${set.type.revision}\nHeader:${headerArgs(set, d)}\n`;
    out += `Size in memory: ${d.memsize}\nReferences: ${d.references}\nNumber of entries: ${d.elements}\n`;
    out += o.terse ? "" : "Members:\n";
  }
  if (o.terse) return out;
  let members = set.data.list(now).map((e) => memberText(set, e, reg, now));
  if (o.sorted && set.type.name.startsWith("hash:")) members = members.sort(bystrcmp);
  const prefix = o.mode === "save" ? `add ${set.name} ` : "";
  for (const m of members) out += `${prefix}${m}\n`;
  return out;
}

/** Which sets a listing of all shows, in the kernel's dump order (list:set last). */
export function dumpOrder(indexes: readonly number[], reg: SetRegistry): number[] {
  const last = (i: number) => (reg.get(i)!.type.features & IPSET_DUMP_LAST) !== 0;
  return [...indexes.filter((i) => !last(i)), ...indexes.filter(last)];
}
