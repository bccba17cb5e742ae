// IPVS state on one host: per namespace the runtime services (with their schedulers'
// state) kept in line with the snapshot, the connection table, and the hooks IPVS
// registers once a namespace has its first virtual service.
import type { LayerHost } from "../host.ts";
import type { Config } from "../config/types.ts";
import type { Dataplane } from "../dataplane/dataplane.ts";
import type { NetnsView } from "../dataplane/view.ts";
import { Hook, NO_OPS, type NfHookOps } from "../dataplane/hooks.ts";
import { registerSysctl } from "../config/sysctl.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import { type DestConfig, type IpvsConfig, type IpvsTimeouts, type ServiceBucket, type ServiceConfig, emptyBuckets, emptyIpvs, SVC_TAB_SIZE } from "./config.ts";
import { IpvsConnTable } from "./conn.ts";
import { IpvsCore, templateTimer } from "./core.ts";
import { IP_VS_DEST_F_AVAILABLE, type IpvsDest, type IpvsService, type Scheduler } from "./types.ts";
import { SCHEDULERS } from "./schedulers/index.ts";

const VS_SYSCTLS: [string, string][] = [
  ["conntrack", "0"],
  ["expire_nodest_conn", "0"],
  ["expire_quiescent_template", "0"],
  ["conn_reuse_mode", "1"],
  ["snat_reroute", "1"],
  ["sloppy_tcp", "0"],
  ["sloppy_sctp", "0"],
  ["schedule_icmp", "0"],
  ["ignore_tunneled", "0"],
  ["run_estimation", "1"],
];
for (const [name, def] of VS_SYSCTLS) {
  registerSysctl({ key: `net.ipv4.vs.${name}`, default: def, module: "ip_vs", range: name === "conn_reuse_mode" ? [0, 3] : [0, 1] });
}

const VS_SYSCTL_KEYS = new Map(VS_SYSCTLS.map(([name]) => [name, `net.ipv4.vs.${name}`]));

export class IpvsServiceRt implements IpvsService {
  proto = 0;
  addr = 0;
  port = 0;
  fwmark = 0;
  flags = 0;
  timeout = 0;
  netmask = 0xffffffff;
  netmaskLen = 32;
  dests: IpvsDest[] = [];
  schedData: unknown = null;
  stats = { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
  scheduler!: Scheduler;
  schedName = "";
  cfg: ServiceConfig | null = null;
  /**
   * The destinations by addr * 65536 + port, in the order they came (what editService
   * walks to find the removed ones). Made on the first edit: a service as it was added
   * has them in its list's order, and a loaded table of 200k real servers needs no map.
   */
  destByKey: Map<number, IpvsDest> | null = null;

  constructor(readonly key: string) {}

  label(): string {
    return this.fwmark ? `FWM ${this.fwmark}` : `${this.proto === 17 ? "UDP" : this.proto === 132 ? "SCTP" : "TCP"} ${formatIPv4(this.addr)}:${this.port}`;
  }
}

export class NetnsIpvs {
  readonly services = new Map<string, IpvsServiceRt>();
  readonly byVip = new Map<number, IpvsServiceRt[]>();
  readonly byMark = new Map<number, IpvsServiceRt>();
  readonly conns = new IpvsConnTable();
  cfg: IpvsConfig | undefined = undefined;
  /** The configuration's buckets as sync last read them. */
  buckets: readonly (ServiceBucket | undefined)[] = emptyBuckets();
  /**
   * ip_vs_trash_get_dest(): a removed real server that connections still use waits here,
   * and comes back (counters and all) when the same service adds it again.
   */
  readonly trash = new Map<string, IpvsDest>();
  /** The hook operations registered here (ip_vs_ops4, with the first virtual service), or NO_OPS. */
  ops: readonly NfHookOps[] = NO_OPS;
  constructor(readonly name: string) {}
}

function destKey(addr: number, port: number): number {
  return addr * 65536 + port;
}

function newDest(dc: DestConfig): IpvsDest {
  return {
    addr: dc.addr,
    port: dc.port,
    weight: dc.weight,
    fwd: dc.fwd,
    uThreshold: dc.uThreshold,
    lThreshold: dc.lThreshold,
    flags: IP_VS_DEST_F_AVAILABLE,
    activeConns: 0,
    inactConns: 0,
    persistConns: 0,
    stats: { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 },
  };
}

function maskLen(mask: number): number {
  let n = 0;
  for (let m = mask >>> 0; m & 0x80000000; m = (m << 1) >>> 0) n++;
  return n;
}

export class IpvsRuntime {
  readonly ns = new Map<string, NetnsIpvs>();
  readonly core: IpvsCore;

  constructor(readonly host: LayerHost) {
    this.core = new IpvsCore(this);
  }

  dp(): Dataplane {
    return this.host.dp;
  }
  now(): number {
    return this.host.now;
  }
  view(ns: string): NetnsView | undefined {
    return this.host.dp.view?.netns.get(ns);
  }
  sysctl(ns: string, name: string): number {
    // The full key from a table: no string is built per packet.
    const key = VS_SYSCTL_KEYS.get(name) ?? `net.ipv4.vs.${name}`;
    return Number(this.host.config.netns[ns]?.sysctl[key] ?? (name === "conn_reuse_mode" || name === "snat_reroute" || name === "run_estimation" ? "1" : "0"));
  }
  timeouts(ns: string): IpvsTimeouts {
    return this.host.config.netns[ns]?.ext.ipvs?.timeouts ?? emptyIpvs().timeouts;
  }
  state(ns: string): NetnsIpvs {
    let s = this.ns.get(ns);
    if (!s) this.ns.set(ns, (s = new NetnsIpvs(ns)));
    return s;
  }

  lookupService(st: NetnsIpvs, proto: number, daddr: number, dport: number, mark: number): IpvsServiceRt | null {
    if (mark && st.byMark.size) {
      const s = st.byMark.get(mark);
      if (s) return s;
    }
    const list = st.byVip.get(destKey(daddr, dport));
    if (!list) return null;
    for (const s of list) if (s.proto === proto) return s;
    return null;
  }

  /** Brings the runtime services in line with the snapshot, bucket by bucket. */
  sync(ns: string, config: Config): NetnsIpvs {
    const st = this.state(ns);
    const cfg = config.netns[ns]?.ext.ipvs;
    if (st.cfg === cfg) return st;
    st.cfg = cfg;
    const buckets = cfg?.buckets ?? emptyBuckets();
    for (let i = 0; i < SVC_TAB_SIZE; i++) {
      const b = buckets[i];
      const old = st.buckets[i];
      if (old === b) continue;
      if (old) {
        const keep = new Set<string>();
        if (b) for (const svc of b) keep.add(svc.key);
        for (const o of old) if (!keep.has(o.key)) this.removeService(st, o.key);
      }
      if (b) for (const svc of b) this.updateService(st, svc);
    }
    st.buckets = buckets;
    return st;
  }

  private index(st: NetnsIpvs, s: IpvsServiceRt, add: boolean): void {
    if (s.fwmark) {
      if (add) st.byMark.set(s.fwmark, s);
      else st.byMark.delete(s.fwmark);
      return;
    }
    const k = destKey(s.addr, s.port);
    const old = st.byVip.get(k);
    if (add && !old) {
      st.byVip.set(k, [s]);
      return;
    }
    const list = (old ?? []).filter((x) => x !== s);
    if (add) list.push(s);
    if (list.length) st.byVip.set(k, list);
    else st.byVip.delete(k);
  }

  private toTrash(st: NetnsIpvs, key: string, d: IpvsDest): void {
    d.flags &= ~IP_VS_DEST_F_AVAILABLE;
    if (d.activeConns + d.inactConns + d.persistConns > 0) st.trash.set(`${key}|${destKey(d.addr, d.port)}`, d);
  }

  private removeService(st: NetnsIpvs, key: string): void {
    const s = st.services.get(key);
    if (!s) return;
    s.scheduler.doneService?.(s);
    for (const d of s.dests) this.toTrash(st, key, d);
    this.index(st, s, false);
    st.services.delete(key);
  }

  // ip_vs_add_service / ip_vs_edit_service / __ip_vs_update_dest / ip_vs_del_dest
  private updateService(st: NetnsIpvs, cfg: ServiceConfig): void {
    const s = st.services.get(cfg.key);
    if (s && s.cfg === cfg) return;
    if (!s) this.addService(st, cfg);
    else this.editService(st, s, cfg);
    st.services.get(cfg.key)!.cfg = cfg;
  }

  /** The service's fields from its configuration (not its destinations). */
  private setFields(s: IpvsServiceRt, cfg: ServiceConfig): void {
    s.proto = cfg.proto;
    s.addr = cfg.addr;
    s.port = cfg.port;
    s.fwmark = cfg.fwmark;
    s.flags = cfg.flags;
    s.timeout = cfg.timeout;
    s.netmask = cfg.netmask;
    s.netmaskLen = maskLen(cfg.netmask);
  }

  // ip_vs_add_service() binds the scheduler to an empty service; each real server then
  // arrives through __ip_vs_update_dest(), oldest first, at the head of the list.
  private addService(st: NetnsIpvs, cfg: ServiceConfig): void {
    const s = new IpvsServiceRt(cfg.key);
    st.services.set(cfg.key, s);
    this.setFields(s, cfg);
    this.index(st, s, true);
    const sched = SCHEDULERS.get(cfg.scheduler)!;
    const { list } = this.resolveDests(st, s, cfg);
    s.scheduler = sched;
    s.schedName = cfg.scheduler;
    s.dests = [];
    sched.initService?.(s, this.now());
    for (let i = list.length - 1; i >= 0; i--) {
      const d = list[i]!;
      s.dests.unshift(d);
      sched.addDest?.(s, d);
    }
  }

  // ip_vs_edit_service() and the destinations' changes, the scheduler told of each.
  private editService(st: NetnsIpvs, s: IpvsServiceRt, cfg: ServiceConfig): void {
    this.setFields(s, cfg);
    const sched = SCHEDULERS.get(cfg.scheduler)!;
    // Destinations: keep the runtime objects (and their counters) of those that stay.
    const wanted = new Set(cfg.dests.map((d) => destKey(d.addr, d.port)));
    const removed: IpvsDest[] = [];
    const have = (s.destByKey ??= new Map(s.dests.map((d) => [destKey(d.addr, d.port), d])));
    for (const [k, d] of have) {
      if (!wanted.has(k)) {
        removed.push(d);
        have.delete(k);
      }
    }
    const { list, added, updated } = this.resolveDests(st, s, cfg);
    if (s.schedName !== cfg.scheduler) {
      // ip_vs_edit_service(): the new scheduler is bound to the service as it stands.
      s.scheduler.doneService?.(s);
      s.scheduler = sched;
      s.schedName = cfg.scheduler;
      s.dests = list;
      sched.initService?.(s, this.now());
      return;
    }
    // The kernel calls the scheduler for each change, in this order.
    for (const d of removed) {
      this.toTrash(st, cfg.key, d);
      s.dests = s.dests.filter((x) => x !== d);
      sched.delDest?.(s, d);
    }
    for (const d of added) {
      s.dests = list.filter((x) => s.dests.includes(x) || x === d);
      sched.addDest?.(s, d);
    }
    s.dests = list;
    for (const d of updated) sched.updDest?.(s, d);
  }

  /**
   * The runtime destinations for cfg.dests, in its order: those the service has (updated
   * in place when their settings changed), those back from the trash, and new ones.
   */
  private resolveDests(st: NetnsIpvs, s: IpvsServiceRt, cfg: ServiceConfig): { list: IpvsDest[]; added: IpvsDest[]; updated: IpvsDest[] } {
    const added: IpvsDest[] = [];
    const updated: IpvsDest[] = [];
    const list: IpvsDest[] = new Array<IpvsDest>(cfg.dests.length);
    for (let i = 0; i < cfg.dests.length; i++) {
      const dc = cfg.dests[i]!;
      const k = destKey(dc.addr, dc.port);
      let d = s.destByKey?.get(k);
      if (!d) {
        // (No key built when the trash is empty: loading a table adds every destination here.)
        d = (st.trash.size ? this.revive(st, cfg.key, k, dc) : undefined) ?? newDest(dc);
        s.destByKey?.set(k, d);
        added.push(d);
      } else if (d.weight !== dc.weight || d.fwd !== dc.fwd || d.uThreshold !== dc.uThreshold || d.lThreshold !== dc.lThreshold) {
        d.weight = dc.weight;
        d.fwd = dc.fwd;
        d.uThreshold = dc.uThreshold;
        d.lThreshold = dc.lThreshold;
        updated.push(d);
      }
      list[i] = d;
    }
    return { list, added, updated };
  }

  // ip_vs_trash_get_dest(): the removed destination (counters and all) comes back.
  private revive(st: NetnsIpvs, key: string, k: number, dc: DestConfig): IpvsDest | undefined {
    const tk = `${key}|${k}`;
    const d = st.trash.get(tk);
    if (!d) return undefined;
    st.trash.delete(tk);
    Object.assign(d, { weight: dc.weight, fwd: dc.fwd, uThreshold: dc.uThreshold, lThreshold: dc.lThreshold, flags: d.flags | IP_VS_DEST_F_AVAILABLE });
    return d;
  }

  /** Expires connections whose time has come (the kernel's per-connection timers). */
  expireAll(ns: string): void {
    const st = this.state(ns);
    const now = this.now();
    // Connections first, so a template sees which of its connections are gone.
    const all = st.conns.entries();
    for (const c of all) if (!c.controlled && c.expires <= now) this.core.expire(st, c);
    for (const c of all) {
      if (!c.controlled) continue;
      templateTimer(c, now);
      if (c.expires <= now) this.core.expire(st, c);
    }
  }

  /**
   * An accepted change made `config` the snapshot (HookProvider.commit): the runtime
   * services follow it (sync, bucket by bucket: only changed buckets are read), and a
   * namespace's hooks are registered with its first virtual service and unregistered
   * with its last, as ip_vs_register_hooks() / ip_vs_unregister_hooks() do.
   */
  commit(config: Config): void {
    for (const ns of Object.keys(config.netns)) {
      const st = this.sync(ns, config);
      if (!st.services.size) st.ops = NO_OPS;
      else if (st.ops === NO_OPS) st.ops = this.opsOf(ns);
    }
  }

  // ip_vs_ops4[].
  private opsOf(ns: string): NfHookOps[] {
    const req = (pkt: Parameters<NfHookOps["fn"]>[0], hs: Parameters<NfHookOps["fn"]>[1]) => this.core.request(ns, pkt, hs);
    const rep = (pkt: Parameters<NfHookOps["fn"]>[0], hs: Parameters<NfHookOps["fn"]>[1]) => this.core.reply(ns, pkt, hs);
    return [
      { hook: Hook.LocalIn, priority: 98, name: "ipvs reply", fn: rep },
      { hook: Hook.LocalIn, priority: 99, name: "ipvs", fn: req },
      { hook: Hook.LocalOut, priority: -99, name: "ipvs reply", fn: rep },
      { hook: Hook.LocalOut, priority: -98, name: "ipvs", fn: req },
      { hook: Hook.Forward, priority: 100, name: "ipvs reply", fn: rep },
    ];
  }

  /** The hook operations registered in ns (HookProvider): a pure read of commit's work. */
  hookOps(ns: string): readonly NfHookOps[] {
    return this.ns.get(ns)?.ops ?? NO_OPS;
  }
}
