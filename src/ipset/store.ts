// The sets of each namespace (struct ip_set_net): an array of slots indexed like the
// kernel's ip_set_list, with reference counts per index. Elements live here, outside the
// immutable snapshot (a produce copying a 100k-element store would cost tens of ms);
// the snapshot records only which store belongs to the namespace and a generation.
// A command works on a Txn: slots and refs copied, each set it touches forked
// (copy-on-write down to hash buckets), all kept only if the command succeeds.
import type { LayerHost } from "../host.ts";
import type { ToolHost } from "../tool/tool.ts";
import type { IpSet, SetRegistry } from "./settype.ts";

/** What the snapshot holds about ipset in a namespace. */
export interface IpsetNetnsConfig {
  /** The NetnsIpset this namespace uses (a recreated namespace gets a new one). */
  instance: number;
  /** Bumped by every command that changed a set. */
  generation: number;
}

declare module "../config/types.ts" {
  interface NetnsExtensions {
    ipset?: IpsetNetnsConfig;
  }
}

/** Per-namespace ipset state; also the registry the packet path resolves indexes in. */
export class NetnsIpset implements SetRegistry {
  slots: (IpSet | null)[] = [];
  refs: number[] = [];
  committed = false;

  constructor(
    readonly instance: number,
    private readonly clock: () => number,
  ) {}

  get now(): number {
    return this.clock();
  }

  get(index: number): IpSet | null {
    return this.slots[index] ?? null;
  }

  find(name: string): number {
    return findIn(this.slots, name);
  }

  ref(index: number, delta: 1 | -1): void {
    this.refs[index] = (this.refs[index] ?? 0) + delta;
  }

  /** Runs each set's due garbage collection (kernel timers) in place. */
  gc(now: number): void {
    for (const s of this.slots) if (s) s.data.gcCatchUp(now, this);
  }
}

function findIn(slots: readonly (IpSet | null)[], name: string): number {
  for (let i = 0; i < slots.length; i++) if (slots[i]?.name === name) return i;
  return -1;
}

/** One command's draft of a namespace's sets. */
export class Txn implements SetRegistry {
  private readonly slots: (IpSet | null)[];
  private readonly refs: number[];
  private readonly owned = new Set<number>();
  changed = false;

  constructor(
    readonly net: NetnsIpset,
    readonly now: number,
  ) {
    this.slots = net.slots.slice();
    this.refs = net.refs.slice();
  }

  get(index: number): IpSet | null {
    return this.slots[index] ?? null;
  }

  find(name: string): number {
    return findIn(this.slots, name);
  }

  ref(index: number, delta: 1 | -1): void {
    this.refs[index] = (this.refs[index] ?? 0) + delta;
  }

  refsOf(index: number): number {
    return this.refs[index] ?? 0;
  }

  /** Indexes of the sets, in ip_set_list order. */
  indexes(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i]) out.push(i);
    return out;
  }

  /** The set at index, forked for this command on first use. */
  own(index: number): IpSet {
    if (!this.owned.has(index)) {
      this.slots[index] = this.slots[index]!.fork();
      this.owned.add(index);
    }
    this.changed = true;
    return this.slots[index]!;
  }

  /** find_free_id(): the lowest free index. */
  insert(set: IpSet): number {
    let i = this.slots.indexOf(null);
    if (i < 0) i = this.slots.length;
    this.slots[i] = set;
    this.refs[i] = 0;
    this.owned.add(i);
    this.changed = true;
    return i;
  }

  remove(index: number): void {
    this.slots[index] = null;
    this.refs[index] = 0;
    this.changed = true;
  }

  /** Puts set at index without copying its elements (rename, swap). */
  place(index: number, set: IpSet): void {
    this.slots[index] = set;
    this.changed = true;
  }

  commit(): void {
    this.net.slots = this.slots;
    this.net.refs = this.refs;
  }
}

/**
 * The ipset layer's state on one host (the kernel's per-net ip_set_net, for every
 * namespace): each namespace's sets, the instance counter that tells a recreated
 * namespace from the old one, and the seed of get_random_bytes() for initval.
 */
export class IpsetRuntime {
  private readonly nets = new Map<string, NetnsIpset>();
  private nextInstance = 1;
  private seed = 0x6b8b4567;

  constructor(readonly host: ToolHost & LayerHost) {}

  /** The ipset state of namespace ns, or null when the namespace does not exist. */
  netns(ns: string): NetnsIpset | null {
    const cfg = this.host.config.netns[ns];
    if (!cfg) return null;
    const inst = cfg.ext.ipset?.instance;
    let st = this.nets.get(ns);
    const valid = st && (inst === undefined ? !st.committed : st.instance === inst);
    if (!st || !valid) {
      st = new NetnsIpset(this.nextInstance++, () => this.host.now);
      this.nets.set(ns, st);
    }
    return st;
  }

  /** get_random_bytes() for initval, made deterministic per host (mulberry32). */
  randomInitval(): number {
    let t = (this.seed = (this.seed + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}

/** Keeps a command's changes; records the change in the snapshot when sets changed. */
export function commit(rt: IpsetRuntime, ns: string, tx: Txn): void {
  const host = rt.host;
  tx.commit();
  if (!tx.changed) return;
  const st = tx.net;
  st.committed = true;
  host.change((c) => {
    const nsc = c.netns[ns];
    if (!nsc) return;
    nsc.ext.ipset = { instance: st.instance, generation: (nsc.ext.ipset?.generation ?? 0) + 1 };
  });
}

