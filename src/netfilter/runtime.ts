// The netfilter layer's state on one host: per namespace the conntrack table and the
// compiled tables, plus the hook operations it registers (conntrack, NAT, each table).
import type { LayerHost } from "../host.ts";
import type { Config } from "../config/types.ts";
import type { Packet } from "../wire/packet.ts";
import { ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../wire/packet.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import type { Dataplane } from "../dataplane/dataplane.ts";
import type { NetnsView, LinkView } from "../dataplane/view.ts";
import { Hook, HOOK_NAMES, nextHookSeq, NO_OPS, NF_ACCEPT, NF_DROP, NF_IP_PRI_CONNTRACK, NF_IP_PRI_CONNTRACK_CONFIRM, type HookState, type NfHookOps, type Verdict } from "../dataplane/hooks.ts";
import { icmpSend } from "../dataplane/icmp.ts";
import { tcpSendReset } from "../dataplane/tcp.ts";
import { routeMeHarder } from "../dataplane/ip_output.ts";
import type { RuleConfig, TableName } from "./types.ts";
import { indexOf, NAT_SRC_PRIORITY, TABLES } from "./tables.ts";
import type { ChainMap } from "./chains.ts";
import { type CompiledChain, type CompiledRule, type CompiledTable, syncTable } from "./compile.ts";
import { TV } from "./ext.ts";
import { doTable, type WalkTrace } from "./walker.ts";
import type { SetHandle, SetLookup } from "./matches/set.ts";
import {
  type Conn,
  ConntrackTable,
  ctPacket,
  invert,
  IP_CT_ESTABLISHED,
  IP_CT_ESTABLISHED_REPLY,
  IP_CT_IS_REPLY,
  IP_CT_NEW,
  IP_CT_RELATED,
  IP_CT_UNTRACKED,
  IPS_CONFIRMED,
  IPS_DST_NAT_DONE,
  IPS_SRC_NAT_DONE,
  IPS_SEEN_REPLY,
  TcpCt,
  tupleEqual,
} from "./conntrack.ts";
import { natInitialized, natIcmpError, natNullBinding, natPacket, type NatRange, natSetupInfo, NF_NAT_MANIP_DST, NF_NAT_MANIP_SRC } from "./nat.ts";
import { saveRule } from "./save.ts";

export class NetnsNetfilter {
  readonly ct = new ConntrackTable();
  readonly tables = new Map<TableName, CompiledTable>();
  /** The hook operations registered here (NO_OPS for none), set at commit. */
  ops: readonly NfHookOps[] = NO_OPS;
  conntrackOn = false;
  /** What ops were built from: conntrack on, the tables present, other layers' nat chains. */
  opsKey = "";
  natSrc: readonly (readonly NatLookup[])[] = [];
}

/** Another layer's nat chain in nf_nat's lookup list (nf_nat_register_fn), e.g. an nft nat base chain. */
export interface NatLookup {
  hook: Hook;
  priority: number;
  /** Registration order (nextHookSeq): among equal priorities the later one runs first. */
  seq?: number;
  fn: (pkt: Packet, state: HookState) => Verdict;
}

/**
 * A layer above netfilter that uses it, registered once at that layer's install:
 * nf_ct_netns_get() (it needs conntrack in a namespace, e.g. IPVS with vs.conntrack=1)
 * and nf_nat_register_fn() (its nat chains share nf_nat's hooks, e.g. nft nat chains).
 */
export interface NetfilterUser {
  needsConntrack?: (ns: string, config: Config) => boolean;
  /** Its nat chains in a namespace: the same array while they are unchanged (the hooks are rebuilt on a new one). */
  natLookups?: (ns: string, config: Config) => readonly NatLookup[];
}

/** What the netfilter layer needs handed in at install. */
export interface NetfilterNeeds {
  /** The sets -m set and -j SET look up (the ipset layer); without it every set name is unknown. */
  sets?: SetLookup;
}

function isIcmpError(pkt: Packet): boolean {
  return pkt.proto === IPPROTO_ICMP && (pkt.icmpType === ICMP_DEST_UNREACH || pkt.icmpType === ICMP_TIME_EXCEEDED || pkt.icmpType === 4 || pkt.icmpType === 5 || pkt.icmpType === 12);
}

export class NetfilterRuntime {
  readonly ns = new Map<string, NetnsNetfilter>();
  readonly ruleCache = new WeakMap<RuleConfig, CompiledRule>();
  /** Extra reasons to track connections in a namespace (IPVS with conntrack=1). */
  private readonly conntrackUsers: ((ns: string, config: Config) => boolean)[] = [];
  /** Other layers' nat chains: they share iptables' nat hooks and its first-binding-wins rule. */
  private readonly natLookups: ((ns: string, config: Config) => readonly NatLookup[])[] = [];
  private readonly natLists = new Map<string, NatLookup[][]>();
  /** When each table's hooks were registered in a namespace (nf_register_net_hooks order). */
  private readonly regSeq = new Map<string, number>();

  private seqOf(ns: string, what: string, present: boolean): number {
    const k = `${ns}\u0000${what}`;
    if (!present) {
      this.regSeq.delete(k);
      return 0;
    }
    let s = this.regSeq.get(k);
    if (s === undefined) this.regSeq.set(k, (s = nextHookSeq()));
    return s;
  }
  private seed = 0x9e3779b9;

  private readonly sets: SetLookup | null;

  constructor(
    readonly host: LayerHost,
    needs: NetfilterNeeds = {},
  ) {
    this.sets = needs.sets ?? null;
  }

  /** A layer above registers what it uses netfilter for (nf_ct_netns_get, nf_nat_register_fn). */
  register(user: NetfilterUser): void {
    if (user.needsConntrack) this.conntrackUsers.push(user.needsConntrack);
    if (user.natLookups) this.natLookups.push(user.natLookups);
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
  /** random() as the NAT code takes it (one closure, not one per packet). */
  private readonly rand = (): number => this.random();
  /** A seeded PRNG (mulberry32): the same scenario gives the same run. */
  random(): number {
    let t = (this.seed = (this.seed + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  resolveSet(ns: string, name: string): SetHandle | null {
    return this.sets ? this.sets.get(ns, name) : null;
  }
  state(ns: string): NetnsNetfilter {
    let s = this.ns.get(ns);
    if (!s) this.ns.set(ns, (s = new NetnsNetfilter()));
    return s;
  }

  natSetup(ns: string, ct: Conn, range: NatRange, manip: number): boolean {
    return natSetupInfo(ct, range, manip, this.state(ns).ct, this.now(), this.rand);
  }
  sendReset(ns: NetnsView, pkt: Packet): void {
    tcpSendReset(this.host.dp, ns, pkt);
  }
  sendIcmp(ns: NetnsView, pkt: Packet, type: number, code: number, inDev: LinkView | null): void {
    icmpSend(this.host.dp, ns, pkt, type, code, inDev);
  }

  /** The compiled table of a namespace, in line with the current snapshot. */
  compiled(ns: string, table: TableName): CompiledTable | null {
    const cfg = this.host.config.netns[ns]?.ext.netfilter?.tables[table];
    if (!cfg) return null;
    const st = this.state(ns);
    let ct = st.tables.get(table);
    if (ct !== undefined && ct.cfg === cfg) return ct;
    if (!ct) st.tables.set(table, (ct = { name: table, cfg: null, chains: new Map() }));
    syncTable(ct, cfg, { rt: this, ns, table }, this.ruleCache);
    return ct;
  }

  private needsConntrack(ns: string, config: Config): boolean {
    const tables = config.netns[ns]?.ext.netfilter?.tables;
    if (tables?.nat) return true;
    for (const t of Object.values(tables ?? {})) if (indexOf(t!).conntrackRules > 0) return true;
    return this.conntrackUsers.some((f) => f(ns, config));
  }

  /**
   * An accepted change made `config` the snapshot (HookProvider.commit): each namespace's
   * registrations follow it. A table's hooks are registered when the table appears
   * (nf_register_net_hooks, in that order), conntrack's when something needs it, nat's
   * once any nat chain exists; unchanged registrations keep their array.
   */
  commit(config: Config): void {
    for (const ns of Object.keys(config.netns)) this.registerNs(ns, config);
  }

  private registerNs(ns: string, config: Config): void {
    const st = this.state(ns);
    const tables = config.netns[ns]?.ext.netfilter?.tables ?? {};
    const ctOn = this.needsConntrack(ns, config);
    const natSrc = this.natLookups.map((f) => f(ns, config));
    const key = `${ctOn ? 1 : 0}${(["raw", "mangle", "filter", "nat"] as TableName[]).map((n) => (tables[n] ? 1 : 0)).join("")}`;
    if (key === st.opsKey && natSrc.length === st.natSrc.length && natSrc.every((l, i) => l === st.natSrc[i])) return;
    st.opsKey = key;
    st.natSrc = natSrc;
    st.conntrackOn = ctOn;
    const ops: NfHookOps[] = [];
    const ctSeq = this.seqOf(ns, "conntrack", ctOn);
    for (const name of ["raw", "mangle", "filter", "nat"] as TableName[]) this.seqOf(ns, name, !!tables[name]);
    if (ctOn) {
      // nf_conntrack_l3proto_ipv4: in at PRE_ROUTING/LOCAL_OUT, confirm last at LOCAL_IN/POST_ROUTING.
      const ctIn = (pkt: Packet, hs: HookState) => this.conntrackIn(ns, pkt, hs);
      const confirm = (pkt: Packet, hs: HookState) => this.confirm(ns, pkt, hs);
      ops.push({ hook: Hook.PreRouting, priority: NF_IP_PRI_CONNTRACK, name: "conntrack", fn: ctIn, seq: ctSeq });
      ops.push({ hook: Hook.LocalOut, priority: NF_IP_PRI_CONNTRACK, name: "conntrack", fn: ctIn, seq: ctSeq });
      ops.push({ hook: Hook.LocalIn, priority: NF_IP_PRI_CONNTRACK_CONFIRM, name: "conntrack confirm", fn: confirm, seq: ctSeq });
      ops.push({ hook: Hook.PostRouting, priority: NF_IP_PRI_CONNTRACK_CONFIRM, name: "conntrack confirm", fn: confirm, seq: ctSeq });
    }
    for (const name of ["raw", "mangle", "filter"] as TableName[]) {
      if (!tables[name]) continue;
      for (const c of TABLES[name].chains) {
        const chain = c.name;
        ops.push({ hook: c.hook, priority: TABLES[name].priority, name, fn: (pkt, hs) => this.runTable(ns, name, chain, pkt, hs), seq: this.seqOf(ns, name, true) });
      }
    }
    // nf_nat_register_fn(): the nat hooks exist once any nat chain does; each runs its chains in priority order.
    const lists: NatLookup[][] = [[], [], [], [], []];
    for (const src of natSrc) for (const l of src) lists[l.hook]!.push(l);
    if (tables.nat) {
      const nat = (chain: string) => (pkt: Packet, hs: HookState) => this.runTable(ns, "nat", chain, pkt, hs);
      const seq = this.seqOf(ns, "nat", true);
      lists[Hook.PreRouting]!.push({ hook: Hook.PreRouting, priority: TABLES.nat.priority, fn: nat("PREROUTING"), seq });
      lists[Hook.LocalOut]!.push({ hook: Hook.LocalOut, priority: TABLES.nat.priority, fn: nat("OUTPUT"), seq });
      lists[Hook.PostRouting]!.push({ hook: Hook.PostRouting, priority: NAT_SRC_PRIORITY, fn: nat("POSTROUTING"), seq });
      lists[Hook.LocalIn]!.push({ hook: Hook.LocalIn, priority: NAT_SRC_PRIORITY, fn: nat("INPUT"), seq });
    }
    // nf_hook_entries_insert_raw(): priority order; equal priorities, the later registration first.
    for (const l of lists) l.sort((a, b) => a.priority - b.priority || (b.seq ?? 0) - (a.seq ?? 0));
    this.natLists.set(ns, lists);
    if (lists.some((l) => l.length)) {
      // iptable_nat / nf_nat_ipv4_ops: DNAT before routing, SNAT after.
      const nat = (manip: number, chain: string) => (pkt: Packet, hs: HookState) => this.natHook(ns, manip, chain, pkt, hs);
      ops.push({ hook: Hook.PreRouting, priority: TABLES.nat.priority, name: "nat", fn: nat(NF_NAT_MANIP_DST, "PREROUTING") });
      ops.push({ hook: Hook.LocalOut, priority: TABLES.nat.priority, name: "nat", fn: nat(NF_NAT_MANIP_DST, "OUTPUT") });
      ops.push({ hook: Hook.PostRouting, priority: NAT_SRC_PRIORITY, name: "nat", fn: nat(NF_NAT_MANIP_SRC, "POSTROUTING") });
      ops.push({ hook: Hook.LocalIn, priority: NAT_SRC_PRIORITY, name: "nat", fn: nat(NF_NAT_MANIP_SRC, "INPUT") });
    }
    st.ops = ops.length ? ops : NO_OPS;
  }

  /** The hook operations registered in ns (HookProvider): a pure read of commit's work. */
  hookOps(ns: string): readonly NfHookOps[] {
    return this.ns.get(ns)?.ops ?? NO_OPS;
  }

  // (The closure is made in a function of its own: one that captures its parameters
  // allocates their context on every call, tracing or not.)
  private walkTrace(ns: string, table: TableName, pkt: Packet): WalkTrace | null {
    return this.host.dp.tracer ? this.tracingWalk(ns, table, pkt) : null;
  }

  private tracingWalk(ns: string, table: TableName, pkt: Packet): WalkTrace {
    const dp = this.host.dp;
    return (rule, chain: CompiledChain, index, verdict) => {
      const what = rule ? `rule ${index}: ${saveRule(chain.name, rule.cfg)}` : "end of chain";
      dp.trace(pkt, ns, null, "rule", `${table} ${chain.name} ${what} => ${verdict}`);
    };
  }

  private runTable(ns: string, table: TableName, chain: string, pkt: Packet, hs: HookState): Verdict {
    const ct = this.compiled(ns, table);
    const start = ct?.chains.get(chain);
    if (!start) return NF_ACCEPT;
    const v = doTable(start, pkt, hs, this.walkTrace(ns, table, pkt));
    if (v === TV.Drop) {
      hs.reason = hs.reason || `${table} ${chain}: DROP`;
      return NF_DROP;
    }
    return v === TV.Stolen ? 2 : NF_ACCEPT;
  }

  // nf_conntrack_in()
  private conntrackIn(ns: string, pkt: Packet, hs: HookState): Verdict {
    if (pkt.ctinfo === IP_CT_UNTRACKED || pkt.nfct) return NF_ACCEPT;
    const table = this.state(ns).ct;
    const now = this.now();
    const dp = this.host.dp;
    if (isIcmpError(pkt) && pkt.quoted) {
      // nf_conntrack_inet_error(): an ICMP error is RELATED to the connection it quotes.
      const q = pkt.quoted;
      const inner = invert({ src: q.saddr, dst: q.daddr, sport: q.sport, dport: q.dport, proto: q.proto });
      const slot = table.lookup(inner, now);
      if (!slot) {
        pkt.ctinfo = 8;
        return NF_ACCEPT;
      }
      pkt.nfct = slot.conn;
      pkt.ctinfo = IP_CT_RELATED + (slot.dir ? IP_CT_IS_REPLY : 0);
      if (dp.tracer) dp.trace(pkt, ns, null, "conntrack", `RELATED to connection ${slot.conn.id}`);
      return NF_ACCEPT;
    }
    // nf_ct_get_tuple() read in place: ICMP's id and type stand for the ports.
    const icmp = pkt.proto === IPPROTO_ICMP;
    let slot = table.lookupAt(pkt.saddr, icmp ? pkt.icmpId : pkt.sport, pkt.daddr, icmp ? pkt.icmpType : pkt.dport, pkt.proto, now);
    if (slot && pkt.proto === IPPROTO_TCP && (pkt.tcpFlags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN && slot.conn.tcp >= TcpCt.TimeWait) {
      // tcp_packet(): a SYN reopening a closed connection kills it; nf_conntrack_in looks up again (NF_REPEAT).
      if (dp.tracer) dp.trace(pkt, ns, null, "conntrack", `SYN reopens closed connection ${slot.conn.id}: a new one replaces it`);
      table.remove(slot.conn);
      slot = undefined;
    }
    let ct: Conn;
    let dir: number;
    if (slot) {
      ct = slot.conn;
      dir = slot.dir;
      pkt.ctinfo = dir ? IP_CT_ESTABLISHED_REPLY : ct.status & IPS_SEEN_REPLY ? IP_CT_ESTABLISHED : IP_CT_NEW;
    } else {
      // tcp_new(): only a SYN (or, with nf_conntrack_tcp_loose, a plain ACK) opens a connection.
      if (pkt.proto === IPPROTO_TCP && (pkt.tcpFlags & (TCP_RST | TCP_FIN) || (pkt.tcpFlags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK))) {
        pkt.ctinfo = 8;
        if (dp.tracer) dp.trace(pkt, ns, null, "conntrack", "INVALID: no connection for this segment");
        return NF_ACCEPT;
      }
      ct = table.create(pkt, now);
      dir = 0;
      pkt.ctinfo = IP_CT_NEW;
    }
    ctPacket(ct, dir, pkt, now);
    pkt.nfct = ct;
    if (dp.tracer) dp.trace(pkt, ns, hs.inDev ?? hs.outDev, "conntrack", `${slot ? (dir ? "reply of" : "original of") : "new"} connection ${ct.id}`);
    return NF_ACCEPT;
  }

  // __nf_conntrack_confirm(): a tuple already in the table is a clash for
  // nf_ct_resolve_clash(): UDP joins an entry for the same flow (or one without NAT);
  // anything else is dropped (insert_failed).
  private confirm(ns: string, pkt: Packet, hs: HookState): Verdict {
    const ct = pkt.nfct as Conn | null;
    if (!ct || ct.status & IPS_CONFIRMED || pkt.ctinfo !== IP_CT_NEW) return NF_ACCEPT;
    const table = this.state(ns).ct;
    const other = table.clashOf(ct, this.now());
    if (!other) {
      table.insert(ct);
      return NF_ACCEPT;
    }
    const sameFlow = tupleEqual(other.tuple[0], ct.tuple[0]) && tupleEqual(other.tuple[1], ct.tuple[1]);
    if (ct.tuple[0].proto === IPPROTO_UDP && (sameFlow || !(other.status & (IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE)))) {
      pkt.nfct = other;
      return NF_ACCEPT;
    }
    const t = ct.tuple[1];
    hs.reason = `conntrack: insert failed: reply tuple ${formatIPv4(t.src)}:${t.sport} -> ${formatIPv4(t.dst)}:${t.dport} belongs to connection ${other.id}`;
    return NF_DROP;
  }

  // nf_nat_inet_fn(): the nat table is consulted only for a connection's first packet.
  private natHook(ns: string, manip: number, chain: string, pkt: Packet, hs: HookState): Verdict {
    const ct = pkt.nfct as Conn | null;
    if (!ct || pkt.ctinfo === IP_CT_UNTRACKED) return NF_ACCEPT;
    const dir = pkt.ctinfo >= IP_CT_IS_REPLY ? 1 : 0;
    if (pkt.ctinfo === IP_CT_RELATED || pkt.ctinfo === IP_CT_RELATED + IP_CT_IS_REPLY) {
      if (isIcmpError(pkt)) natIcmpError(ct, dir, manip, pkt);
      return NF_ACCEPT;
    }
    if (pkt.ctinfo === IP_CT_NEW && !natInitialized(ct, manip)) {
      void chain;
      const lookups = this.natLists.get(ns)?.[hs.hook];
      for (let i = 0; lookups !== undefined && i < lookups.length; i++) {
        const v = lookups[i]!.fn(pkt, hs);
        if (v !== NF_ACCEPT) return v;
        if (natInitialized(ct, manip)) break;
      }
      if (!natInitialized(ct, manip) && !natNullBinding(ct, manip, this.state(ns).ct, this.now(), this.rand)) {
        hs.reason = "nat: no unique tuple left";
        return NF_DROP;
      }
    }
    const before = manip === NF_NAT_MANIP_DST ? pkt.daddr : pkt.saddr;
    const beforePort = manip === NF_NAT_MANIP_DST ? pkt.dport : pkt.sport;
    if (!natPacket(ct, dir, manip, pkt)) return NF_ACCEPT;
    const after = manip === NF_NAT_MANIP_DST ? pkt.daddr : pkt.saddr;
    const afterPort = manip === NF_NAT_MANIP_DST ? pkt.dport : pkt.sport;
    const dp = this.host.dp;
    if (dp.tracer && (before !== after || beforePort !== afterPort)) {
      const kind = dir === 0 ? (manip === NF_NAT_MANIP_DST ? "DNAT" : "SNAT") : manip === NF_NAT_MANIP_DST ? "un-SNAT" : "un-DNAT";
      dp.trace(pkt, ns, null, "nat", `${HOOK_NAMES[hs.hook]} ${kind} ${formatIPv4(before)}:${beforePort} -> ${formatIPv4(after)}:${afterPort}`);
    }
    if (manip === NF_NAT_MANIP_DST && before !== after) {
      // nf_nat_ipv4_in(): a new destination needs a new route; OUTPUT: ip_route_me_harder().
      if (hs.hook === Hook.PreRouting) pkt.dst = null;
      else if (hs.hook === Hook.LocalOut) {
        const nsv = this.view(ns);
        if (nsv && !routeMeHarder(dp, nsv, pkt)) {
          hs.reason = `no route to ${formatIPv4(pkt.daddr)} after DNAT`;
          return NF_DROP;
        }
      }
    }
    return NF_ACCEPT;
  }

  /** Sets the namespace's rules use, with how many uses each (-m set, -j SET; kept in each table's index). */
  setUses(ns: string, config: Config): Map<string, number> {
    const uses = new Map<string, number>();
    for (const t of Object.values(config.netns[ns]?.ext.netfilter?.tables ?? {})) {
      for (const [name, n] of (t!.chains as ChainMap).setUses(t!.name)) uses.set(name, (uses.get(name) ?? 0) + n);
    }
    return uses;
  }

  /** After a change of rules: take and give back set references for the difference. */
  syncSetRefs(ns: string, before: Config, after: Config): void {
    const sets = this.sets;
    if (!sets || before === after) return;
    const old = this.setUses(ns, before);
    const now = this.setUses(ns, after);
    for (const name of new Set([...old.keys(), ...now.keys()])) {
      const d = (now.get(name) ?? 0) - (old.get(name) ?? 0);
      for (let i = 0; i < Math.abs(d); i++) sets.ref(ns, name, d > 0 ? 1 : -1);
    }
  }

  /** Connections of a namespace as conntrack -L lists them. */
  connections(ns: string): Conn[] {
    return this.state(ns).ct.list(this.now());
  }
}
