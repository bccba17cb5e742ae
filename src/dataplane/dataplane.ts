// The dataplane of one emulated machine: the compiled view of the current snapshot,
// the mutable tables packets create (neighbours, bridge FDBs, sockets), the event
// loop, the hook walker and the optional tracer.
import type { Config } from "../config/types.ts";
import type { Packet } from "../wire/packet.ts";
import { describePacket, type TraceStep, Tracer } from "./trace.ts";
import { NF_ACCEPT, NF_DROP, Hook, type HookProvider, type HookState, HOOK_NAMES } from "./hooks.ts";
import { buildView, updateView, type LinkView, type NetnsView, type View } from "./view.ts";
import { Sim } from "./sim.ts";
import { NeighTable } from "./neigh.ts";
import { SocketTable } from "./sockets.ts";
import { netifReceive } from "./dev.ts";
import { inetHashConnect, nsRandom, seedFor, udpGetPort } from "./ports.ts";

export type Okfn = (dp: Dataplane, ns: NetnsView, pkt: Packet, inDev: LinkView | null, outDev: LinkView | null) => void;

/** Per-namespace mutable state. */
export class NetnsDataplane {
  readonly neigh = new NeighTable();
  readonly sockets = new SocketTable();
  /** Ports for connect(): table_perturb and the seeded secrets of src/dataplane/ports.ts. */
  readonly perturb = new Map<number, number>();
  portSeed: number;
  readonly secret: number;
  constructor(name: string) {
    this.portSeed = seedFor(name);
    this.secret = nsRandom(this);
  }
  /** get_random_sleepable_once(table_perturb): each slot starts random. */
  perturbInit(index: number): number {
    const v = nsRandom(this);
    this.perturb.set(index, v);
    return v;
  }
  /** inet_peer ICMP rate limiting (ip_error, icmp_send), by peer address. */
  readonly icmpPeers = new Map<number, { tokens: number; last: number }>();
}

export interface FdbEntry {
  port: number;
  updated: number;
}

export class Dataplane {
  view!: View;
  readonly sim = new Sim();
  tracer: Tracer | null = null;
  readonly providers: HookProvider[] = [];
  readonly ns = new Map<string, NetnsDataplane>();
  /** Bridge FDBs: bridge link id -> MAC -> port (br_fdb_update / br_fdb_find). */
  readonly fdb = new Map<number, Map<number, FdbEntry>>();
  /** Counts drops by reason since creation (for tests and benchmarks). */
  drops = 0;
  lastDrop = "";
  /** The last packet a hook dropped, and where: a sender learns of its own (ip_local_out's -EPERM). */
  nfDropped: Packet | null = null;
  nfDroppedAt: Hook = Hook.PreRouting;

  /**
   * An accepted change made `config` the snapshot: the hook providers bring their state
   * in line with it (last registered first), then the view follows it, recomputing only
   * what changed (updateView).
   */
  setConfig(config: Config): void {
    if (this.view && this.view.config === config) return;
    this.commit(config);
    if (this.view) updateView(this.view, config, this.providers);
    else this.view = buildView(config, this.providers);
    this.follow();
  }

  /** Builds the view from scratch (a provider was added: every hook table changes). */
  invalidate(config: Config): void {
    this.commit(config);
    this.view = buildView(config, this.providers);
    this.follow();
  }

  private commit(config: Config): void {
    for (let i = this.providers.length - 1; i >= 0; i--) this.providers[i]!.commit?.(config);
  }

  /** Per-namespace state and bridge FDBs follow the namespaces and links of the view. */
  private follow(): void {
    const view = this.view;
    for (const name of view.netns.keys()) if (!this.ns.has(name)) this.ns.set(name, new NetnsDataplane(name));
    for (const name of [...this.ns.keys()]) if (!view.netns.has(name)) this.ns.delete(name);
    for (const id of [...this.fdb.keys()]) if (!view.links.has(id)) this.fdb.delete(id);
  }

  state(ns: NetnsView): NetnsDataplane {
    return this.ns.get(ns.name)!;
  }

  get now(): number {
    return this.sim.now;
  }

  trace(pkt: Packet | null, ns: NetnsView | string, dev: LinkView | null, step: TraceStep, detail: string): void {
    const t = this.tracer;
    if (!t) return;
    t.now = this.sim.now;
    t.emit(pkt, typeof ns === "string" ? ns : ns.name, dev ? dev.name : null, step, detail);
  }

  drop(pkt: Packet, ns: NetnsView, dev: LinkView | null, reason: string): void {
    this.drops++;
    this.lastDrop = reason;
    if (this.tracer) this.trace(pkt, ns, dev, "drop", `${describePacket(pkt)}: ${reason}`);
  }

  /** nf_hook(): run the operations registered at this hook in priority order, then okfn. */
  nfHook(hook: Hook, ns: NetnsView, pkt: Packet, inDev: LinkView | null, outDev: LinkView | null, okfn: Okfn): void {
    const ops = ns.hooks[hook]!;
    if (ops.length !== 0) {
      const state: HookState = { hook, ns: ns.name, inDev, outDev, reason: "" };
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        const v = op.fn(pkt, state);
        if (v === NF_ACCEPT) continue;
        if (v === NF_DROP) {
          this.nfDropped = pkt;
          this.nfDroppedAt = hook;
          this.drop(pkt, ns, inDev ?? outDev, `${HOOK_NAMES[hook]} ${op.name}: ${state.reason || "dropped"}`);
        }
        return;
      }
    }
    okfn(this, ns, pkt, inDev, outDev);
  }

  /** Delivers frames and fires timers until done() or the virtual deadline. */
  run(until: number, done: () => boolean): void {
    this.sim.run(this.deliverFrame, until, done);
  }

  private readonly deliverFrame = (linkId: number, pkt: Packet): void => {
    const dev = this.view.links.get(linkId);
    if (!dev) return;
    netifReceive(this, dev, pkt);
  };

  /** Moves the clock forward, firing due timers. */
  advance(ms: number): void {
    const until = this.sim.now + ms;
    this.run(until, () => false);
    this.sim.now = until;
  }

  /** A TCP source port for connect() to daddr:dport from saddr (0: none free). */
  tcpConnectPort(ns: NetnsView, saddr: number, daddr: number, dport: number): number {
    return inetHashConnect(ns, this.state(ns), saddr, daddr, dport);
  }

  /** A UDP source port for an unbound socket's first send (0: none free). */
  udpPort(ns: NetnsView): number {
    return udpGetPort(ns, this.state(ns));
  }
}
