// One stored element of any set type, and the extensions every type can carry
// (ip_set.h: timeout, counters, comment). One shape for all types keeps the packet
// path monomorphic; fields a type does not use stay 0.

export class Elem {
  // --- the element struct (what mtype_data_equal compares) ---
  ip = 0;
  ip2 = 0;
  port = 0;
  proto = 0;
  /** Prefix length of the type's net dimension (hash:net*, hash:ip,port,net), else 0. */
  cidr = 0;
  physdev = 0;
  wildcard = 0;
  iface = "";
  /** list:set: the member set's index. */
  id = 0;
  nomatch = false;
  // --- extensions ---
  /** Expiry on the virtual clock in ms; 0 is IPSET_ELEM_PERMANENT. */
  timeout = 0;
  packets = 0;
  bytes = 0;
  comment: string | null = null;

  copyKey(d: Elem): void {
    this.ip = d.ip;
    this.ip2 = d.ip2;
    this.port = d.port;
    this.proto = d.proto;
    this.cidr = d.cidr;
    this.physdev = d.physdev;
    this.wildcard = d.wildcard;
    this.iface = d.iface;
    this.id = d.id;
    this.nomatch = d.nomatch;
  }

  clone(): Elem {
    const e = new Elem();
    e.copyKey(this);
    e.timeout = this.timeout;
    e.packets = this.packets;
    e.bytes = this.bytes;
    e.comment = this.comment;
    return e;
  }

  reset(): void {
    this.ip = 0;
    this.ip2 = 0;
    this.port = 0;
    this.proto = 0;
    this.cidr = 0;
    this.physdev = 0;
    this.wildcard = 0;
    this.iface = "";
    this.id = 0;
    this.nomatch = false;
  }
}

/** What an add carries besides the element (struct ip_set_ext). */
export interface AddExt {
  /** Seconds; 0 permanent. Ignored by a set without timeout support. */
  timeout: number;
  /** null: leave the counter as the slot holds it (ULLONG_MAX in the kernel). */
  packets: number | null;
  bytes: number | null;
  comment: string | null;
}

/** The extensions a set was created with (set->extensions, set->timeout). */
export interface SetExt {
  /** Default timeout in seconds; null without timeout support (IPSET_NO_TIMEOUT). */
  timeout: number | null;
  counters: boolean;
  comment: boolean;
  forceadd: boolean;
}

/** ip_set_timeout_set(): an expiry on the clock, 0 for permanent. */
export function timeoutSet(now: number, seconds: number): number {
  return seconds === 0 ? 0 : now + seconds * 1000;
}

/** ip_set_timeout_expired() */
export function expired(timeout: number, now: number): boolean {
  return timeout !== 0 && now > timeout;
}

/** ip_set_timeout_get(): seconds left as listed, never 0 for a live element. */
export function timeoutGet(timeout: number, now: number): number {
  if (timeout === 0) return 0;
  const t = Math.floor((timeout - now) / 1000);
  return t <= 0 ? 1 : t;
}

/** sizeof(struct ip_set_comment_rcu) + strlen + 1, as set->ext_size counts a comment. */
export function commentSize(c: string): number {
  return 16 + Buffer.byteLength(c) + 1;
}

/** ip_set_elem_len(): the element struct followed by the extensions, aligned. */
export function elemLen(base: number, align: number, ext: SetExt): number {
  let len = base;
  let a = Math.max(align, 1);
  const add = (size: number, al: number) => {
    a = Math.max(a, al);
    len = Math.ceil(len / al) * al + size;
  };
  if (ext.counters) add(16, 8);
  if (ext.timeout !== null) add(8, 8);
  if (ext.comment) add(8, 8);
  return Math.ceil(len / a) * a;
}
