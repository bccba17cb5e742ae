// The nf_tables packet path of one host: each namespace's base chains as hook operations
// at their priorities (nf_tables_register_hook), nat chains in nf_nat's lookup list, and
// nft_do_chain() walking compiled rules with a jump stack.
import type { LayerHost } from "../host.ts";
import type { Config } from "../config/types.ts";
import type { Packet } from "../wire/packet.ts";
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, ICMP_DEST_UNREACH, RTN_LOCAL } from "../wire/packet.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import { Hook, NF_ACCEPT, NF_DROP, nextHookSeq, NO_OPS, type HookState, type NfHookOps, type Verdict } from "../dataplane/hooks.ts";
import { inetSelectAddr } from "../dataplane/route.ts";
import type { NatLookup, NetfilterRuntime } from "../netfilter/runtime.ts";
import type { Conn } from "../netfilter/conntrack.ts";
import { IP_CT_IS_REPLY, IP_CT_UNTRACKED, IPS_CONFIRMED } from "../netfilter/conntrack.ts";
import { type NatRange, NF_NAT_MANIP_DST, NF_NAT_MANIP_SRC } from "../netfilter/nat.ts";
import { SELECTORS, prefixMask, BITMASK_TYPES } from "./datatypes.ts";
import { SetIndex } from "./sets.ts";
import { ruleText } from "./list.ts";
import type { NftAtom, NftChain, NftElem, NftExpr, NftRhs, NftRule, NftRuleset, NftSel, NftSetDef, NftStmt, NftTable, NftValue, NftVerdict } from "./types.ts";
import { chainList } from "./types.ts";
import { committedChain, diffOf, sameHooks, type ElemOp } from "./graph.ts";

// Statement results: go on, this rule does not match, or a verdict.
const CONT = -1;
const BREAK = -2;
const V_DROP = 0;
const V_ACCEPT = 1;
const V_STOLEN = 2;
const V_JUMP = 10;
const V_GOTO = 11;
const V_RETURN = 12;
const V_CONTINUE = 13;

interface EvalState {
  hs: HookState;
  /** Target of a jump/goto verdict. */
  target: CChain | null;
  buf: NftValue[];
  now: number;
}

type StmtFn = (pkt: Packet, st: EvalState) => number;

interface CRule {
  rule: NftRule;
  stmts: StmtFn[];
}

interface CChain {
  cfg: NftChain;
  rules: CRule[];
}

interface CVerdict {
  code: number;
  chain: CChain | null;
  text: string;
}

interface CTable {
  cfg: NftTable;
  chains: Map<string, CChain>;
  sets: Map<string, SetIndex<unknown>>;
}

const HOOK_OF: Record<string, Hook> = { prerouting: Hook.PreRouting, input: Hook.LocalIn, forward: Hook.Forward, output: Hook.LocalOut, postrouting: Hook.PostRouting };

function verdictCode(v: NftVerdict): number {
  return { accept: V_ACCEPT, drop: V_DROP, continue: V_CONTINUE, return: V_RETURN, jump: V_JUMP, goto: V_GOTO }[v.code];
}

/** Reads a selector from the packet; -1 when the packet has no such field (NFT_BREAK). */
function getter(rt: NftRuntime, ns: string, s: NftSel): (pkt: Packet, st: EvalState) => NftValue {
  const ct = (pkt: Packet) => pkt.nfct as Conn | null;
  switch (s.name) {
    case "ip saddr":
      return (p) => p.saddr >>> 0;
    case "ip daddr":
      return (p) => p.daddr >>> 0;
    case "ip protocol":
    case "meta l4proto":
      return (p) => p.proto;
    case "ip ttl":
      return (p) => p.ttl;
    case "ip length":
      return (p) => p.len;
    case "meta protocol":
      return () => 0x0800;
    case "meta nfproto":
      return () => 2;
    case "tcp sport":
      return (p) => (p.proto === IPPROTO_TCP ? p.sport : -1);
    case "tcp dport":
      return (p) => (p.proto === IPPROTO_TCP ? p.dport : -1);
    case "tcp flags":
      return (p) => (p.proto === IPPROTO_TCP ? p.tcpFlags : -1);
    case "udp sport":
      return (p) => (p.proto === IPPROTO_UDP ? p.sport : -1);
    case "udp dport":
      return (p) => (p.proto === IPPROTO_UDP ? p.dport : -1);
    case "th sport":
      return (p) => (p.proto === IPPROTO_TCP || p.proto === IPPROTO_UDP ? p.sport : -1);
    case "th dport":
      return (p) => (p.proto === IPPROTO_TCP || p.proto === IPPROTO_UDP ? p.dport : -1);
    case "icmp type":
      return (p) => (p.proto === IPPROTO_ICMP ? p.icmpType : -1);
    case "icmp code":
      return (p) => (p.proto === IPPROTO_ICMP ? p.icmpCode : -1);
    case "meta iifname":
    case "meta iif":
      return (_p, st) => st.hs.inDev?.name ?? -1;
    case "meta oifname":
    case "meta oif":
      return (_p, st) => st.hs.outDev?.name ?? -1;
    case "meta mark":
      return (p) => p.mark >>> 0;
    case "meta pkttype":
      return (p) => (p.ethDst === 0xffffffffffff ? 1 : 0);
    case "ct state":
      // nft_ct_get_eval NFT_CT_STATE: NF_CT_STATE_BIT(ctinfo), or the invalid/untracked bits.
      return (p) => (p.nfct ? 1 << ((p.ctinfo % IP_CT_IS_REPLY) + 1) : p.ctinfo === IP_CT_UNTRACKED ? 64 : 1);
    case "ct status":
      return (p) => ct(p)?.status ?? -1;
    case "ct mark":
      return (p) => (ct(p) ? ct(p)!.mark >>> 0 : -1);
    case "ct direction":
      return (p) => (ct(p) ? (p.ctinfo >= IP_CT_IS_REPLY ? 1 : 0) : -1);
    case "ct original ip saddr":
      return (p) => (ct(p) ? ct(p)!.tuple[0].src >>> 0 : -1);
    case "ct original ip daddr":
      return (p) => (ct(p) ? ct(p)!.tuple[0].dst >>> 0 : -1);
    case "ct reply ip saddr":
      return (p) => (ct(p) ? ct(p)!.tuple[1].src >>> 0 : -1);
    case "ct reply ip daddr":
      return (p) => (ct(p) ? ct(p)!.tuple[1].dst >>> 0 : -1);
    case "ct original proto-src":
      return (p) => (ct(p) ? ct(p)!.tuple[0].sport : -1);
    case "ct original proto-dst":
      return (p) => (ct(p) ? ct(p)!.tuple[0].dport : -1);
    case "ct reply proto-src":
      return (p) => (ct(p) ? ct(p)!.tuple[1].sport : -1);
    case "ct reply proto-dst":
      return (p) => (ct(p) ? ct(p)!.tuple[1].dport : -1);
    case "fib daddr type":
    case "fib saddr type":
    case "fib daddr . iif type": {
      const src = s.name === "fib saddr type";
      const limit = s.name.includes("iif");
      // nft_fib4_eval_type(): inet_dev_addr_type() of the address.
      return (p, st) => {
        const v = rt.view(ns);
        const a = src ? p.saddr : p.daddr;
        if (!v) return 0;
        const holder = v.local.get(a);
        if (holder && (!limit || holder === st.hs.inDev)) return RTN_LOCAL;
        if (a === 0xffffffff) return 3;
        if ((a >>> 28) === 14) return 5;
        const r = v.fib.lookup(a);
        if (!r) return 7;
        return { unicast: 1, local: 2, broadcast: 3, blackhole: 6, unreachable: 7, prohibit: 8 }[r.type];
      };
    }
    case "fib saddr . iif oif":
    case "fib daddr oif":
      // nft_fib4_eval(): the route back to the source must leave through the input device.
      return (p, st) => {
        const v = rt.view(ns);
        const a = s.name.startsWith("fib saddr") ? p.saddr : p.daddr;
        if (!v) return -1;
        if (v.local.has(a)) return v.lo.name;
        const r = v.fib.lookup(a);
        const dev = r?.dev !== null && r?.dev !== undefined ? v.byId.get(r.dev) : undefined;
        if (!dev) return -1;
        if (s.name === "fib saddr . iif oif" && st.hs.inDev && dev !== st.hs.inDev) return -1;
        return dev.name;
      };
    case "numgen": {
      const mod = s.mod!;
      const off = s.offset ?? 0;
      if (s.mode === "inc") {
        // nft_ng_inc_eval(): an atomic counter, wrapping at the modulus.
        let counter = 0;
        return () => {
          const v = counter;
          counter = (counter + 1) % mod;
          return v + off;
        };
      }
      // nft_ng_random_eval(): reciprocal_scale(get_random_u32(), modulus).
      return () => Math.floor((rt.random() / 0x100000000) * mod) + off;
    }
    case "jhash": {
      const parts = s.of!.map((x) => getter(rt, ns, x));
      const mod = s.mod!;
      const off = s.offset ?? 0;
      const seed = s.seed ?? 0;
      return (p, st) => {
        let h = seed ^ 0x9e3779b9;
        for (const g of parts) {
          const v = g(p, st);
          if (v === -1) return -1;
          h = Math.imul(h ^ (typeof v === "number" ? v : v.length), 0x85ebca6b) >>> 0;
          h ^= h >>> 13;
        }
        return Math.floor((h / 0x100000000) * mod) + off;
      };
    }
    default:
      throw new Error(`selector ${s.name} has no getter`);
  }
}

function atomTest(a: NftAtom): (v: NftValue) => boolean {
  if (a.k === "val") {
    const x = a.v;
    return (v) => v === x;
  }
  if (a.k === "prefix") {
    const m = prefixMask(a.len);
    const x = a.v;
    return (v) => typeof v === "number" && ((v & m) >>> 0) === x;
  }
  const { lo, hi } = a;
  return (v) => typeof v === "number" && v >= lo && v <= hi;
}

export class NftRuntime {
  private readonly tables = new WeakMap<NftTable, CTable>();
  /** Counters by rule, per counter statement. */
  readonly counters = new WeakMap<NftRule, { packets: number; bytes: number }[]>();
  /** Elements added from the packet path (add/update @set), by namespace/family/table/set. */
  readonly dynamic = new Map<string, Map<string, NftElem>>();
  private seed = 0x2545f491;
  /** When each base chain was registered (nf_tables_register_hook), shared order with iptables' tables. */
  private readonly regSeq = new Map<string, number>();

  constructor(
    readonly host: LayerHost,
    private readonly netfilter: NetfilterRuntime,
  ) {}

  nf(): NetfilterRuntime {
    return this.netfilter;
  }
  view(ns: string) {
    return this.host.dp.view?.netns.get(ns);
  }
  random(): number {
    let t = (this.seed = (this.seed + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  ruleset(ns: string, config: Config = this.host.config): NftRuleset | undefined {
    return config.netns[ns]?.ext.nftables;
  }

  /** needsConntrack's answer by ruleset snapshot object. */
  private readonly ctNeed = new WeakMap<NftRuleset, boolean>();

  /** Conntrack is needed once a rule reads ct state or a nat chain exists (nf_ct_netns_get). */
  needsConntrack(ns: string, config: Config): boolean {
    const rs = this.ruleset(ns, config);
    if (!rs) return false;
    let need = this.ctNeed.get(rs);
    if (need === undefined) {
      need = rs.tables.some((t) => t.chains.some((ch) => ch.some((c) => c.base?.type === "nat" || c.rules.some((r) => r.stmts.some(usesCt)))));
      this.ctNeed.set(rs, need);
    }
    return need;
  }

  /** The compiled form of each table by namespace/family/name, updated in place as the table changes. */
  private readonly latest = new Map<string, { ct: CTable; sets: Map<string, NftSetDef> }>();

  compiled(ns: string, t: NftTable): CTable {
    let ct = this.tables.get(t);
    if (!ct) {
      const key = this.dynKey(ns, t, "");
      const prev = this.latest.get(key);
      if (prev) {
        ct = prev.ct;
        if (!this.updateChanged(ns, t, ct, prev.sets)) this.updateTable(ns, t, ct, prev.sets);
      } else {
        ct = this.compileTable(ns, t);
        this.latest.set(key, { ct, sets: new Map(t.sets.map((s) => [s.name, s])) });
      }
      this.tables.set(t, ct);
    }
    return ct;
  }

  /**
   * A new version of a compiled table (a commit changed it): chains whose object is
   * unchanged keep their compiled rules, changed ones are compiled again, in the same
   * CChain (jumps resolved to it stay valid); sets whose definition is unchanged keep
   * their index, changed ones are reloaded into it. A change costs what it changed, plus
   * a pass over the table's chain and set lists.
   */
  private updateTable(ns: string, t: NftTable, ct: CTable, sets: Map<string, NftSetDef>): void {
    ct.cfg = t;
    const setNames = new Set<string>();
    for (const s of t.sets) {
      setNames.add(s.name);
      if (sets.get(s.name) === s && ct.sets.has(s.name)) continue;
      this.reloadSet(ns, t, ct, sets, s);
    }
    for (const name of [...ct.sets.keys()]) {
      if (!setNames.has(name)) {
        ct.sets.delete(name);
        sets.delete(name);
      }
    }
    const changed: CChain[] = [];
    const chainNames = new Set<string>();
    for (const c of chainList(t)) {
      chainNames.add(c.name);
      const cc = ct.chains.get(c.name);
      if (cc && cc.cfg === c) continue;
      if (cc) {
        cc.cfg = c;
        changed.push(cc);
      } else {
        const n: CChain = { cfg: c, rules: [] };
        ct.chains.set(c.name, n);
        changed.push(n);
      }
    }
    for (const name of [...ct.chains.keys()]) if (!chainNames.has(name)) ct.chains.delete(name);
    for (const cc of changed) {
      const c = cc.cfg;
      cc.rules = c.rules.map((r) => ({ rule: r, stmts: r.stmts.map((s, i) => this.compileStmt(ns, ct, r, s, i)) }));
    }
  }

  /**
   * The commits between the compiled version and t, from what their transactions changed
   * (graph.ts diffs): only the chains and sets they name are looked at. False when the
   * chain of diffs does not lead back to the compiled version (then updateTable).
   */
  private updateChanged(ns: string, t: NftTable, ct: CTable, sets: Map<string, NftSetDef>): boolean {
    const steps: NonNullable<ReturnType<typeof diffOf>>[] = [];
    for (let v: NftTable | null = t; v !== ct.cfg; ) {
      const d: ReturnType<typeof diffOf> = v ? diffOf(v) : undefined;
      if (!d || d.full || steps.length > 64) return false;
      steps.push(d);
      v = d.prev;
    }
    const chains = new Set<string>();
    for (const d of steps) for (const n of d.chains) chains.add(n);
    for (const n of chains) if (committedChain(t, n) === undefined) return false;
    ct.cfg = t;
    for (const d of steps.reverse()) for (const [name, ops] of d.elemOps) this.updateSet(ns, t, ct, sets, name, ops);
    for (const name of chains) {
      const c = committedChain(t, name)!;
      if (!c) {
        ct.chains.delete(name);
        continue;
      }
      let cc = ct.chains.get(name);
      if (cc?.cfg === c) continue;
      if (cc) cc.cfg = c;
      else ct.chains.set(name, (cc = { cfg: c, rules: [] }));
      cc.rules = c.rules.map((r) => ({ rule: r, stmts: r.stmts.map((s, i) => this.compileStmt(ns, ct, r, s, i)) }));
    }
    return true;
  }

  /** One set's index after a commit: its element changes replayed, or reloaded (made, flushed, deleted). */
  private updateSet(ns: string, t: NftTable, ct: CTable, sets: Map<string, NftSetDef>, name: string, ops: readonly ElemOp[] | null): void {
    const s = t.sets.find((x) => x.name === name && !x.anonymous);
    if (!s) {
      ct.sets.delete(name);
      sets.delete(name);
      return;
    }
    const data = (e: NftElem) => (e.data ? this.dataOf(ct, e) : true);
    const idx = ct.sets.get(name);
    // Elements the packet path added (add/update @set) are merged by a reload.
    const dyn = this.dynamic.get(this.dynKey(ns, t, name))?.size ?? 0;
    if (ops && idx && idx.depth === s.keyType.length && !s.flags.includes("interval") && dyn === 0) {
      for (const { add, e } of ops) {
        const key = e.key.parts.map((p) => (p.k === "val" ? p.v : 0));
        if (add) idx.insert(key, { data: data(e), expires: e.expires ?? Infinity });
        else idx.remove(key);
      }
      idx.size = s.elems.length;
      sets.set(name, s);
      return;
    }
    this.reloadSet(ns, t, ct, sets, s);
  }

  /** A set's index loaded again from its elements (the same index object: compiled rules hold it). */
  private reloadSet(ns: string, t: NftTable, ct: CTable, sets: Map<string, NftSetDef>, s: NftSetDef): void {
    sets.set(s.name, s);
    const data = (e: NftElem) => (e.data ? this.dataOf(ct, e) : true);
    let idx = ct.sets.get(s.name);
    if (idx && idx.depth === s.keyType.length) idx.reset(s.elems, data);
    else ct.sets.set(s.name, (idx = new SetIndex<unknown>(s.keyType.length, s.elems, data)));
    const dyn = this.dynamic.get(this.dynKey(ns, t, s.name));
    for (const e of dyn?.values() ?? []) idx.insert(e.key.parts.map((p) => (p.k === "val" ? p.v : 0)), { data: true, expires: e.expires ?? Infinity });
  }

  /**
   * The compiled form of a table as text (chains with their config objects' identity,
   * rules, set indexes with their elements): the one kept from commit to commit, or
   * (fresh) one compiled from scratch from t. Tests compare the two.
   */
  describeCompiled(ns: string, t: NftTable, fresh: boolean): string {
    const ct = fresh ? this.compileTable(ns, t) : this.compiled(ns, t);
    const ids = new Map<object, number>();
    const id = (o: object) => ids.get(o) ?? (ids.set(o, ids.size), ids.size - 1);
    for (const c of chainList(t)) for (const r of c.rules) id(r);
    for (const c of chainList(t)) id(c);
    const show = (d: unknown): string => {
      if (d === true) return "true";
      const v = d as CVerdict & { name?: string };
      if (typeof v === "object" && v !== null && "code" in v) return `${v.text}${v.chain ? `@${id(v.chain.cfg)}` : ""}`;
      return JSON.stringify(d);
    };
    const out = [`cfg ${ct.cfg === t}`];
    for (const name of [...ct.chains.keys()].sort()) {
      const cc = ct.chains.get(name)!;
      out.push(`chain ${name} cfg#${id(cc.cfg)} rules ${cc.rules.map((r) => `${id(r.rule)}/${r.stmts.length}`).join(" ")}`);
    }
    for (const name of [...ct.sets.keys()].sort()) {
      const strings = (t.sets.find((x) => x.name === name)?.keyType ?? []).map((k) => k === "ifname");
      out.push(`set ${name} depth ${ct.sets.get(name)!.depth}: ${ct.sets.get(name)!.describe(show, strings).join(", ")}`);
    }
    return out.join("\n");
  }

  dynKey(ns: string, t: NftTable, set: string): string {
    return `${ns}\u0000${t.family}\u0000${t.name}\u0000${set}`;
  }

  private compileTable(ns: string, t: NftTable): CTable {
    const ct: CTable = { cfg: t, chains: new Map(), sets: new Map() };
    for (const s of t.sets) {
      const idx = new SetIndex<unknown>(s.keyType.length, s.elems, (e) => (e.data ? this.dataOf(ct, e) : true));
      const dyn = this.dynamic.get(this.dynKey(ns, t, s.name));
      for (const e of dyn?.values() ?? []) idx.insert(e.key.parts.map((p) => (p.k === "val" ? p.v : 0)), { data: true, expires: e.expires ?? Infinity });
      ct.sets.set(s.name, idx);
    }
    for (const c of chainList(t)) ct.chains.set(c.name, { cfg: c, rules: [] });
    for (const c of chainList(t)) {
      const cc = ct.chains.get(c.name)!;
      cc.rules = c.rules.map((r) => ({ rule: r, stmts: r.stmts.map((s, i) => this.compileStmt(ns, ct, r, s, i)) }));
    }
    return ct;
  }

  private dataOf(ct: CTable, e: NftElem): unknown {
    if (e.data?.k === "verdict") {
      const v = e.data.v;
      return { code: verdictCode(v), chain: null, text: v.chain !== undefined ? `${v.code} ${v.chain}` : v.code, name: v.chain } as CVerdict & { name?: string };
    }
    if (e.data?.k === "value") return e.data.parts;
    return true;
  }

  /** Resolves verdict-map data chains once the table's chains exist. */
  private verdictOf(ct: CTable, d: unknown): CVerdict {
    const v = d as CVerdict & { name?: string };
    if (v.name !== undefined && v.chain === null) v.chain = ct.chains.get(v.name) ?? null;
    return v;
  }

  private setIndexOf(ct: CTable, rhs: NftRhs, depth: number): SetIndex<unknown> | null {
    if (rhs.k === "ref") return ct.sets.get(rhs.name) ?? null;
    if (rhs.k === "set") return new SetIndex<unknown>(depth, rhs.elems, (e) => (e.data ? this.dataOf(ct, e) : true));
    return null;
  }

  /** Reads an expression's fields into st.buf; false when one is missing. */
  private loader(ns: string, e: NftExpr): (pkt: Packet, st: EvalState) => boolean {
    const gets = e.sels.map((s) => getter(this, ns, s));
    const mask = e.mask;
    const or = e.or;
    const xor = e.xor;
    if (gets.length === 1) {
      const g = gets[0]!;
      return (p, st) => {
        let v = g(p, st);
        if (v === -1) return false;
        if (typeof v === "number") {
          if (mask !== undefined) v = (v & mask) >>> 0;
          if (or !== undefined) v = (v | or) >>> 0;
          if (xor !== undefined) v = (v ^ xor) >>> 0;
        }
        st.buf[0] = v;
        return true;
      };
    }
    return (p, st) => {
      for (let i = 0; i < gets.length; i++) {
        const v = gets[i]!(p, st);
        if (v === -1) return false;
        st.buf[i] = v;
      }
      return true;
    };
  }

  private compileStmt(ns: string, ct: CTable, rule: NftRule, s: NftStmt, index: number): StmtFn {
    const now = () => this.host.now;
    switch (s.k) {
      case "match": {
        if (s.right.k === "atoms" && s.left.sels[0]!.name.startsWith("fib ") && (s.right.atoms[0] as { v: unknown }).v === "missing") {
          // fib ... oif missing: no route back (NFT_FIB_RESULT_OIF with no device).
          const g = getter(this, ns, s.left.sels[0]!);
          const neg = s.op === "!=";
          return (p, st) => ((g(p, st) === -1) !== neg ? CONT : BREAK);
        }
        const load = this.loader(ns, s.left);
        const neg = s.op === "!=";
        const set = this.setIndexOf(ct, s.right, s.left.sels.length);
        if (set) {
          return (p, st) => {
            if (!load(p, st)) return BREAK;
            const hit = set.lookup(st.buf, st.now) !== null;
            return hit !== neg ? CONT : BREAK;
          };
        }
        const atoms = (s.right as { atoms: NftAtom[] }).atoms;
        const type = SELECTORS[s.left.sels[0]!.name]!.type;
        if (s.op === "implicit" && BITMASK_TYPES.has(type) && s.left.mask === undefined) {
          const bits = (atoms[0] as { v: number }).v;
          // A bitmask compared implicitly: any of the bits (ct state established,related).
          return (p, st) => (load(p, st) && ((st.buf[0] as number) & bits) !== 0 ? CONT : BREAK);
        }
        if (s.op === "<" || s.op === ">" || s.op === "<=" || s.op === ">=") {
          const x = (atoms[0] as { v: number }).v;
          const op = s.op;
          return (p, st) => {
            if (!load(p, st)) return BREAK;
            const v = st.buf[0] as number;
            const r = op === "<" ? v < x : op === ">" ? v > x : op === "<=" ? v <= x : v >= x;
            return r ? CONT : BREAK;
          };
        }
        const tests = atoms.map(atomTest);
        if (tests.length === 1) {
          const t0 = tests[0]!;
          return (p, st) => (load(p, st) && t0(st.buf[0]!) !== neg ? CONT : BREAK);
        }
        return (p, st) => {
          if (!load(p, st)) return BREAK;
          let ok = true;
          for (let i = 0; i < tests.length; i++) if (!tests[i]!(st.buf[i]!)) ok = false;
          return ok !== neg ? CONT : BREAK;
        };
      }
      case "verdict": {
        const code = verdictCode(s.v);
        const name = s.v.chain;
        let target: CChain | null = null;
        return (_p, st) => {
          if (name !== undefined) {
            target ??= ct.chains.get(name) ?? null;
            st.target = target;
          }
          return code;
        };
      }
      case "vmap": {
        const load = this.loader(ns, s.left);
        const set = this.setIndexOf(ct, s.map, s.left.sels.length);
        return (p, st) => {
          if (!load(p, st) || !set) return BREAK;
          const hit = set.lookup(st.buf, st.now);
          if (!hit) return BREAK;
          const v = this.verdictOf(ct, hit.data);
          st.target = v.chain;
          return v.code;
        };
      }
      case "counter": {
        let arr = this.counters.get(rule);
        if (!arr) this.counters.set(rule, (arr = []));
        const c = (arr[index] ??= { packets: s.packets, bytes: s.bytes });
        return (p) => {
          c.packets++;
          c.bytes += p.len;
          return CONT;
        };
      }
      case "log": {
        const prefix = s.prefix ?? "";
        return (p) => {
          if (this.host.dp.tracer) this.host.dp.trace(p, ns, null, "note", `nft log ${prefix}`);
          return CONT;
        };
      }
      case "reject": {
        const tcp = s.with === "tcp reset";
        const code = s.code ?? 3;
        // nft_reject_ipv4_eval(): send the RST or ICMP error, then drop.
        return (p, st) => {
          const v = this.view(ns);
          if (!v) return V_DROP;
          if (tcp) {
            if (p.proto !== IPPROTO_TCP) return V_DROP;
            this.nf().sendReset(v, p);
          } else this.nf().sendIcmp(v, p, ICMP_DEST_UNREACH, code, st.hs.inDev);
          st.hs.reason = "nft reject";
          return V_DROP;
        };
      }
      case "mark": {
        const val = s.value;
        const load = typeof val === "number" ? null : this.loader(ns, val);
        const isCt = s.ct;
        return (p, st) => {
          let v: number;
          if (load) {
            if (!load(p, st)) return BREAK;
            v = st.buf[0] as number;
          } else v = val as number;
          if (isCt) {
            const c = p.nfct as Conn | null;
            if (c) c.mark = v;
          } else p.mark = v;
          return CONT;
        };
      }
      case "notrack":
        return (p) => {
          if (!p.nfct) p.ctinfo = IP_CT_UNTRACKED;
          return CONT;
        };
      case "limit": {
        // nft_limit_eval(): a token bucket of rate per unit, burst packets deep.
        const per = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000 }[s.unit]!;
        const burst = (s.burst ?? 5) || 1;
        const cost = per / s.rate;
        let tokens = burst * cost;
        let last = -1;
        const over = s.over;
        return () => {
          const t = now();
          if (last >= 0) tokens = Math.min(burst * cost, tokens + (t - last));
          last = t;
          const ok = tokens >= cost;
          if (ok) tokens -= cost;
          return ok !== over ? CONT : BREAK;
        };
      }
      case "setupd": {
        const load = this.loader(ns, s.key);
        const timeout = s.timeout ?? ct.cfg.sets.find((x) => x.name === s.set)?.timeout ?? 0;
        const key = this.dynKey(ns, ct.cfg, s.set);
        const depth = s.key.sels.length;
        const op = s.op;
        return (p, st) => {
          if (!load(p, st)) return BREAK;
          const idx = ct.sets.get(s.set);
          if (!idx) return BREAK;
          const parts = st.buf.slice(0, depth);
          const exists = idx.lookup(parts, st.now);
          if (exists && op === "add") return CONT;
          const expires = timeout ? st.now + timeout : Infinity;
          const elem: NftElem = { key: { parts: parts.map((v) => ({ k: "val", v })) }, ...(timeout ? { timeout, expires } : {}) };
          let dyn = this.dynamic.get(key);
          if (!dyn) this.dynamic.set(key, (dyn = new Map()));
          dyn.set(JSON.stringify(parts), elem);
          idx.insert(parts, { data: true, expires });
          return CONT;
        };
      }
      case "nat":
        return this.natStmt(ns, ct, s);
      case "masquerade": {
        const ports = s.ports;
        const fully = s.flags.includes("fully-random");
        const random = s.flags.includes("random");
        // nf_nat_masquerade_ipv4(): the out device's address towards the next hop.
        return (p, st) => {
          const c = p.nfct as Conn | null;
          if (!c || !st.hs.outDev) return CONT;
          const nh = p.dst ? p.dst.gw : p.daddr;
          const src = inetSelectAddr(st.hs.outDev.ns, st.hs.outDev, nh, "global");
          if (!src) {
            st.hs.reason = `masquerade: ${st.hs.outDev.name} has no address`;
            return V_DROP;
          }
          const range: NatRange = { minIp: src, maxIp: src, mapIps: true, protoSpecified: !!ports, minPort: ports?.[0] ?? 0, maxPort: ports?.[1] ?? 0, random, fully };
          return this.nf().natSetup(ns, c, range, NF_NAT_MANIP_SRC) ? CONT : V_DROP;
        };
      }
      case "redirect": {
        const ports = s.ports;
        // nf_nat_redirect_ipv4(): 127.0.0.1 for local packets, else the input device's first address.
        return (p, st) => {
          const c = p.nfct as Conn | null;
          if (!c) return CONT;
          let to = 0x7f000001;
          if (st.hs.hook !== Hook.LocalOut) {
            const a = st.hs.inDev?.cfg.addrs.at(0);
            if (!a) return V_DROP;
            to = a.addr;
          }
          const range: NatRange = { minIp: to, maxIp: to, mapIps: true, protoSpecified: !!ports, minPort: ports?.[0] ?? 0, maxPort: ports?.[1] ?? 0, random: false, fully: false };
          return this.nf().natSetup(ns, c, range, NF_NAT_MANIP_DST) ? CONT : V_DROP;
        };
      }
    }
  }

  private natStmt(ns: string, ct: CTable, s: Extract<NftStmt, { k: "nat" }>): StmtFn {
    const manip = s.type === "dnat" ? NF_NAT_MANIP_DST : NF_NAT_MANIP_SRC;
    const flags = { random: s.flags.includes("random"), fully: s.flags.includes("fully-random") };
    const rangeOf = (addr: NftAtom | undefined, port: NftAtom | undefined): NatRange => {
      const [minIp, maxIp] = !addr ? [0, 0] : addr.k === "val" ? [addr.v as number, addr.v as number] : addr.k === "range" ? [addr.lo, addr.hi] : [addr.v, (addr.v | ~prefixMask(addr.len)) >>> 0];
      const [minPort, maxPort] = !port ? [0, 0] : port.k === "val" ? [port.v as number, port.v as number] : port.k === "range" ? [port.lo, port.hi] : [0, 0];
      return { minIp, maxIp, mapIps: !!addr, protoSpecified: !!port, minPort, maxPort, ...flags };
    };
    if (s.map) {
      const load = this.loader(ns, s.map.left);
      const set = this.setIndexOf(ct, s.map.map, s.map.left.sels.length);
      // nft_lookup + nft_nat: the map gives address and port; a miss ends the rule.
      return (p, st) => {
        const c = p.nfct as Conn | null;
        if (!c) return CONT;
        if (!set || !load(p, st)) return BREAK;
        const hit = set.lookup(st.buf, st.now);
        if (!hit) return BREAK;
        const parts = hit.data as NftAtom[];
        return this.nf().natSetup(ns, c, rangeOf(parts[0], parts[1]), manip) ? CONT : V_DROP;
      };
    }
    const range = rangeOf(s.addr, s.port);
    // nft_nat_eval(): set up the binding for the connection's first packet.
    return (p) => {
      const c = p.nfct as Conn | null;
      if (!c) return CONT;
      return this.nf().natSetup(ns, c, range, manip) ? CONT : V_DROP;
    };
  }

  /** nft_do_chain(): rules in order, a jump stack, the base chain's policy at the end. */
  doChain(ns: string, ct: CTable, base: CChain, pkt: Packet, hs: HookState): Verdict {
    const tracer = this.host.dp.tracer;
    const st: EvalState = { hs, target: null, buf: [], now: this.host.now };
    const stack: [CChain, number][] = [];
    let chain = base;
    let ri = 0;
    const t = ct.cfg;
    for (;;) {
      let verdict = V_CONTINUE;
      let matched: CRule | null = null;
      for (; ri < chain.rules.length; ri++) {
        const r = chain.rules[ri]!;
        let res = CONT;
        for (let i = 0; i < r.stmts.length; i++) {
          res = r.stmts[i]!(pkt, st);
          if (res !== CONT) break;
        }
        if (res === BREAK) continue;
        if (res === CONT || res === V_CONTINUE) {
          if (tracer) this.traceRule(ns, t, chain, r, "continue", pkt);
          continue;
        }
        verdict = res;
        matched = r;
        break;
      }
      if (matched) {
        if (tracer) this.traceRule(ns, t, chain, matched, verdictName(verdict, st.target), pkt);
        if (verdict === V_ACCEPT) return NF_ACCEPT;
        if (verdict === V_DROP) {
          hs.reason = hs.reason || `nft ${t.family} ${t.name} ${chain.cfg.name}: drop`;
          return NF_DROP;
        }
        if (verdict === V_STOLEN) return 2;
        if (verdict === V_JUMP || verdict === V_GOTO) {
          if (!st.target) return NF_DROP;
          if (verdict === V_JUMP) {
            if (stack.length >= 16) return NF_DROP;
            stack.push([chain, ri + 1]);
          }
          chain = st.target;
          ri = 0;
          continue;
        }
        // V_RETURN falls through to the end-of-chain handling.
      }
      const back = stack.pop();
      if (back) {
        [chain, ri] = back;
        continue;
      }
      const policy = base.cfg.base!.policy;
      if (tracer) this.host.dp.trace(pkt, ns, null, "rule", `nft ${t.family} ${t.name} ${base.cfg.name} policy ${policy}`);
      if (policy === "drop") {
        hs.reason = hs.reason || `nft ${t.family} ${t.name} ${base.cfg.name}: policy drop`;
        return NF_DROP;
      }
      return NF_ACCEPT;
    }
  }

  private traceRule(ns: string, t: NftTable, chain: CChain, r: CRule, verdict: string, pkt: Packet): void {
    const text = ruleText(r.rule, { handles: false, numeric: false, stateless: true, now: this.host.now }, t.family === "inet");
    this.host.dp.trace(pkt, ns, null, "rule", `nft ${t.family} ${t.name} ${chain.cfg.name} handle ${r.rule.handle}: ${text} (verdict ${verdict})`);
  }

  /** Registration order of the namespace's base chains: new ones get the next number, in creation order. */
  private baseSeqs(ns: string, config: Config): Map<NftChain, number> {
    const out = new Map<NftChain, number>();
    const present = new Set<string>();
    const fresh: [string, NftChain][] = [];
    for (const t of this.ruleset(ns, config)?.tables ?? []) {
      for (const c of chainList(t)) {
        if (!c.base || t.flags.includes("dormant")) continue;
        const k = `${ns}\u0000${t.family}\u0000${t.name}\u0000${c.name}\u0000${c.base.seq}`;
        present.add(k);
        const s = this.regSeq.get(k);
        if (s === undefined) fresh.push([k, c]);
        else out.set(c, s);
      }
    }
    fresh.sort((a, b) => a[1].base!.seq - b[1].base!.seq);
    for (const [k, c] of fresh) {
      const s = nextHookSeq();
      this.regSeq.set(k, s);
      out.set(c, s);
    }
    for (const k of [...this.regSeq.keys()]) if (k.startsWith(`${ns}\u0000`) && !present.has(k)) this.regSeq.delete(k);
    return out;
  }

  /** Per namespace: the ruleset its registrations were made for, its base chains' hook operations and nat chains. */
  private readonly registered = new Map<string, { rs: NftRuleset | undefined; ops: readonly NfHookOps[]; nat: readonly NatLookup[]; tables: Map<string, NftTable> }>();

  /**
   * An accepted change made `config` the snapshot (HookProvider.commit): a namespace whose
   * ruleset changed registers its base chains again (nf_tables_register_hook for new
   * ones, in creation order); others keep their arrays.
   */
  commit(config: Config): void {
    for (const ns of Object.keys(config.netns)) {
      const rs = this.ruleset(ns, config);
      const cur = this.registered.get(ns);
      if (cur && cur.rs === rs) continue;
      const tables = new Map((rs?.tables ?? []).map((t) => [`${t.family}\u0000${t.name}`, t]));
      if (cur && rs && cur.rs && this.sameBases(cur.rs, rs)) {
        // The same base chains: the hook operations stay (they find the table by name).
        this.registered.set(ns, { ...cur, rs, tables });
        continue;
      }
      const seqs = this.baseSeqs(ns, config);
      const ops = this.baseOps(ns, config, seqs);
      const nat = this.natOps(ns, config, seqs);
      this.registered.set(ns, { rs, ops: ops.length ? ops : NO_OPS, nat: nat.length ? nat : NO_NAT, tables });
    }
  }

  /** The running transaction kept every table's base chains and flags (graph.ts): no new registration. */
  private sameBases(prev: NftRuleset, next: NftRuleset): boolean {
    if (prev.tables.length !== next.tables.length) return false;
    return prev.tables.every((t, i) => sameHooks(t, next.tables[i]!));
  }

  /** Base chains of every table as hook operations (HookProvider): a pure read of commit's work. */
  hookOps(ns: string): readonly NfHookOps[] {
    return this.registered.get(ns)?.ops ?? NO_OPS;
  }

  /** The namespace's nat base chains, for nf_nat's lookup list: a pure read of commit's work. */
  natLookups(ns: string): readonly NatLookup[] {
    return this.registered.get(ns)?.nat ?? NO_NAT;
  }

  /** Base chains of every table as hook operations; nat chains go to nf_nat's lookup list. */
  private baseOps(ns: string, config: Config, seqs: Map<NftChain, number>): NfHookOps[] {
    const ops: (NfHookOps & { seq: number })[] = [];
    for (const t of this.ruleset(ns, config)?.tables ?? []) {
      if (t.flags.includes("dormant")) continue;
      for (const c of chainList(t)) {
        if (!c.base || c.base.type === "nat") continue;
        const hook = HOOK_OF[c.base.hook]!;
        const key = `${t.family}\u0000${t.name}`;
        const name = c.name;
        ops.push({ hook, priority: c.base.prio, seq: seqs.get(c) ?? 0, name: `nft ${t.family} ${t.name} ${c.name}`, fn: (pkt, hs) => this.runBase(ns, key, name, pkt, hs) });
      }
    }
    // nf_hook_entries_grow(): among equal priorities the later registration runs first.
    ops.sort((a, b) => a.priority - b.priority || b.seq - a.seq);
    return ops;
  }

  private natOps(ns: string, config: Config, seqs: Map<NftChain, number>): NatLookup[] {
    const out: (NatLookup & { seq: number })[] = [];
    for (const t of this.ruleset(ns, config)?.tables ?? []) {
      if (t.flags.includes("dormant")) continue;
      for (const c of chainList(t)) {
        if (!c.base || c.base.type !== "nat") continue;
        const key = `${t.family}\u0000${t.name}`;
        const name = c.name;
        out.push({ hook: HOOK_OF[c.base.hook]!, priority: c.base.prio, seq: seqs.get(c) ?? 0, fn: (pkt, hs) => this.runBase(ns, key, name, pkt, hs) });
      }
    }
    out.sort((a, b) => a.priority - b.priority || b.seq - a.seq);
    return out;
  }

  private runBase(ns: string, key: string, chain: string, pkt: Packet, hs: HookState): Verdict {
    const t = this.registered.get(ns)?.tables.get(key);
    if (!t) return NF_ACCEPT;
    const ct = this.compiled(ns, t);
    const c = ct.chains.get(chain);
    if (!c) return NF_ACCEPT;
    // An nft chain sees a packet IPVS or conntrack already marked as its own like iptables does.
    void IPS_CONFIRMED;
    return this.doChain(ns, ct, c, pkt, hs);
  }

  counterOf(rule: NftRule, i: number): { packets: number; bytes: number } | null {
    return this.counters.get(rule)?.[i] ?? null;
  }

  dynamicElems(ns: string, t: NftTable, s: NftSetDef): NftElem[] {
    const now = this.host.now;
    return [...(this.dynamic.get(this.dynKey(ns, t, s.name))?.values() ?? [])].filter((e) => (e.expires ?? Infinity) > now);
  }
}

const NO_NAT: readonly NatLookup[] = Object.freeze([]);

function usesCt(s: NftStmt): boolean {
  if (s.k === "match" || s.k === "vmap") return s.left.sels.some((x) => x.name.startsWith("ct "));
  if (s.k === "mark") return s.ct;
  return s.k === "nat" || s.k === "masquerade" || s.k === "redirect" || s.k === "notrack";
}

function verdictName(code: number, target: CChain | null): string {
  switch (code) {
    case V_ACCEPT:
      return "accept";
    case V_DROP:
      return "drop";
    case V_JUMP:
      return `jump ${target?.cfg.name ?? "?"}`;
    case V_GOTO:
      return `goto ${target?.cfg.name ?? "?"}`;
    case V_RETURN:
      return "return";
    default:
      return "continue";
  }
}

export { formatIPv4 };
