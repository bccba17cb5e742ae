// Errors as ipset words them: libipset's syntax and parameter errors, and the kernel's
// error codes turned into messages by lib/errcode.c's tables.
import * as C from "./consts.ts";

/**
 * session: reported through the session (kernel and syntax errors): in restore mode
 * prefixed "Error in line N: ". custom: printed directly (exit 1). parameter: printed
 * directly with "Try `ipset help' for more information." (exit 2).
 */
export type ErrorKind = "session" | "custom" | "parameter";

/** An ipset failure; message is the text after "ipset v7.17: ". */
export class IpsetError extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind = "session",
  ) {
    super(message);
    this.name = "IpsetError";
  }
}

export function syntaxError(msg: string): IpsetError {
  return new IpsetError(`Syntax error: ${msg}`);
}

export function parameterError(msg: string): IpsetError {
  return new IpsetError(msg, "parameter");
}

/** What pktpath does not model, named plainly (not ipset's wording). */
export function notModelled(what: string): IpsetError {
  return new IpsetError(`${what} is not modelled by pktpath`, "parameter");
}

type Row = [code: number, cmd: C.IpsetCmd | null, message: string];

const CORE: Row[] = [
  [C.ENOENT, null, "The set with the given name does not exist"],
  [C.ERANGE, null, "The specified range is too large, split it up into smaller ranges"],
  [C.IPSET_ERR_PROTOCOL, null, "Kernel error received: ipset protocol error"],
  [C.EEXIST, "create", "Set cannot be created: set with the same name already exists"],
  [C.IPSET_ERR_FIND_TYPE, null, "Kernel error received: set type not supported"],
  [C.IPSET_ERR_MAX_SETS, null, "Kernel error received: maximal number of sets reached, cannot create more."],
  [C.IPSET_ERR_INVALID_NETMASK, null, "The value of the netmask parameter is invalid"],
  [C.IPSET_ERR_INVALID_FAMILY, null, "Protocol family not supported by the set type"],
  [C.IPSET_ERR_BUSY, "destroy", "Set cannot be destroyed: it is in use by a kernel component"],
  [C.IPSET_ERR_EXIST_SETNAME2, "rename", "Set cannot be renamed: a set with the new name already exists"],
  [C.IPSET_ERR_REFERENCED, "rename", "Set cannot be renamed: it is in use by another system"],
  [C.IPSET_ERR_EXIST_SETNAME2, "swap", "Sets cannot be swapped: the second set does not exist"],
  [C.IPSET_ERR_TYPE_MISMATCH, "swap", "The sets cannot be swapped: their type does not match"],
  [C.IPSET_ERR_INVALID_CIDR, null, "The value of the CIDR parameter of the IP address is invalid"],
  [C.IPSET_ERR_TIMEOUT, null, "Timeout cannot be used: set was created without timeout support"],
  [C.IPSET_ERR_IPADDR_IPV4, null, "An IPv4 address is expected, but not received"],
  [C.IPSET_ERR_COUNTER, null, "Packet/byte counters cannot be used: set was created without counter support"],
  [C.IPSET_ERR_COMMENT, null, "Comment cannot be used: set was created without comment support"],
  [C.IPSET_ERR_SKBINFO, null, "Skbinfo mapping cannot be used: set was created without skbinfo support"],
  [C.IPSET_ERR_EXIST, "add", "Element cannot be added to the set: it's already added"],
  [C.IPSET_ERR_EXIST, "del", "Element cannot be deleted from the set: it's not added"],
];

const BITMAP: Row[] = [
  [C.IPSET_ERR_BITMAP_RANGE, null, "Element is out of the range of the set"],
  [C.IPSET_ERR_BITMAP_RANGE_SIZE, "create", "The range you specified exceeds the size limit of the set type"],
];

const HASH: Row[] = [
  [C.IPSET_ERR_HASH_FULL, null, "Hash is full, cannot add more elements"],
  [C.IPSET_ERR_HASH_ELEM, null, "Null-valued element, cannot be stored in a hash type of set"],
  [C.IPSET_ERR_INVALID_PROTO, null, "Invalid protocol specified"],
  [C.IPSET_ERR_MISSING_PROTO, null, "Protocol missing, but must be specified"],
  [C.IPSET_ERR_HASH_RANGE_UNSUPPORTED, null, 'Range is not supported in the "net" component of the element'],
  [C.IPSET_ERR_HASH_RANGE, null, "Invalid range, covers the whole address space"],
];

const LIST: Row[] = [
  [C.IPSET_ERR_NAME, null, "Set to be added/deleted/tested as element does not exist."],
  [C.IPSET_ERR_LOOP, null, "Sets with list:set type cannot be added to the set."],
  [C.IPSET_ERR_BEFORE, null, "No reference set specified."],
  [C.IPSET_ERR_NAMEREF, null, "The set to which you referred with 'before' or 'after' does not exist."],
  [C.IPSET_ERR_LIST_FULL, null, "The set is full, more elements cannot be added."],
  [C.IPSET_ERR_REF_EXIST, null, "The set to which you referred with 'before' or 'after' is not added to the set."],
];

const STRERROR: Record<number, string> = {
  [C.EINVAL]: "Invalid argument",
  [C.ENOMEM]: "Cannot allocate memory",
  [C.EBUSY]: "Device or resource busy",
  [C.ENOTEMPTY]: "Directory not empty",
  [C.EAGAIN]: "Resource temporarily unavailable",
};

/** ipset_errcode(): the message for a kernel error code (positive) of a command. */
export function kernelErrorMessage(code: number, cmd: C.IpsetCmd, typeName: string | null): string {
  let table = CORE;
  if (code >= C.IPSET_ERR_TYPE_SPECIFIC && typeName) {
    if (typeName.startsWith("bitmap:")) table = BITMAP;
    else if (typeName.startsWith("hash:")) table = HASH;
    else if (typeName.startsWith("list:")) table = LIST;
  }
  for (;;) {
    let generic: string | null = null;
    for (const [c, k, m] of table) {
      if (c !== code) continue;
      if (k === cmd) return m;
      if (k === null) generic = m;
    }
    if (generic) return generic;
    if (table === CORE) break;
    table = CORE;
  }
  if (code < C.IPSET_ERR_PRIVATE) return `Kernel error received: ${STRERROR[code] ?? `error ${code}`}`;
  return `Undecoded error ${code} received from kernel`;
}

export function kernelError(code: number, cmd: C.IpsetCmd, typeName: string | null): IpsetError {
  return new IpsetError(kernelErrorMessage(code, cmd, typeName));
}
