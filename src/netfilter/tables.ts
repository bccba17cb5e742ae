// The iptables tables, their built-in chains and the hooks and priorities they sit at
// (net/ipv4/netfilter/iptable_*.c), and the pure functions that change them.
import { Hook, NF_IP_PRI_FILTER, NF_IP_PRI_MANGLE, NF_IP_PRI_NAT_DST, NF_IP_PRI_NAT_SRC, NF_IP_PRI_RAW } from "../dataplane/hooks.ts";
import { ChainMap, EditSession, type TableIndex } from "./chains.ts";
import type { NetnsConfig } from "../config/types.ts";
import type { ChainConfig, NetfilterConfig, RuleConfig, TableConfig, TableName } from "./types.ts";

export interface TableDef {
  name: TableName;
  chains: { name: string; hook: Hook }[];
  priority: number;
}

const PRE = { name: "PREROUTING", hook: Hook.PreRouting };
const IN = { name: "INPUT", hook: Hook.LocalIn };
const FWD = { name: "FORWARD", hook: Hook.Forward };
const OUT = { name: "OUTPUT", hook: Hook.LocalOut };
const POST = { name: "POSTROUTING", hook: Hook.PostRouting };

export const TABLES: Record<TableName, TableDef> = {
  raw: { name: "raw", chains: [PRE, OUT], priority: NF_IP_PRI_RAW },
  mangle: { name: "mangle", chains: [PRE, IN, FWD, OUT, POST], priority: NF_IP_PRI_MANGLE },
  // iptable_nat: DNAT at PRE/OUT (-100), SNAT at POST/IN (100).
  nat: { name: "nat", chains: [PRE, IN, OUT, POST], priority: NF_IP_PRI_NAT_DST },
  filter: { name: "filter", chains: [IN, FWD, OUT], priority: NF_IP_PRI_FILTER },
};
export const NAT_SRC_PRIORITY = NF_IP_PRI_NAT_SRC;

export function isTableName(name: string): name is TableName {
  return name === "raw" || name === "mangle" || name === "nat" || name === "filter";
}

export function emptyTable(name: TableName): TableConfig {
  const session = new EditSession();
  const chains = ChainMap.empty().editBy(session);
  for (const c of TABLES[name].chains) chains.add(c.name, "ACCEPT");
  session.seal();
  return { name, chains };
}

export function netfilterConfigOf(nsc: NetnsConfig): NetfilterConfig {
  if (!nsc.ext.netfilter) nsc.ext.netfilter = { tables: {} };
  return nsc.ext.netfilter;
}

/** The table, instantiated on first use as the kernel does. */
export function tableOf(nsc: NetnsConfig, name: TableName): TableConfig {
  const nf = netfilterConfigOf(nsc);
  let t = nf.tables[name];
  if (!t) t = nf.tables[name] = emptyTable(name);
  return t;
}

/** Each table's built-in chain names (looked up per jump checked). */
const BUILTINS: Record<TableName, ReadonlySet<string>> = {
  raw: new Set(TABLES.raw.chains.map((c) => c.name)),
  mangle: new Set(TABLES.mangle.chains.map((c) => c.name)),
  nat: new Set(TABLES.nat.chains.map((c) => c.name)),
  filter: new Set(TABLES.filter.chains.map((c) => c.name)),
};

export function isBuiltin(table: TableName, chain: string): boolean {
  return BUILTINS[table].has(chain);
}

/** One edit token per draft table: the command that holds the draft changes its map in place. */
const tokens = new WeakMap<TableConfig, EditSession>();

/** The table's chains, editable by this change (the snapshot's map is never changed). */
export function editChains(t: TableConfig): ChainMap {
  let tok = tokens.get(t);
  if (!tok || tok.sealed) tokens.set(t, (tok = new EditSession()));
  const m = (t.chains as ChainMap).editBy(tok);
  if (m !== t.chains) t.chains = m;
  return m;
}

/** The table's index (jump graph and reference counts, set uses, conntrack users), in step with its chains. */
export function indexOf(t: TableConfig): TableIndex {
  return (t.chains as ChainMap).index(t.name);
}

/** Rules anywhere in the table that jump or go to chain (the kernel's chain use count). */
export function referencesTo(t: TableConfig, chain: string): number {
  return indexOf(t).graph.refs(chain);
}

/** Chain names in creation order (as iptables-nft walks them for -F and -X). */
export function creationOrder(t: TableConfig): string[] {
  return [...t.chains.values()].sort((a, b) => a.seq - b.seq).map((c) => c.name);
}

export class IptError extends Error {}

export function chainOf(t: TableConfig, name: string): ChainConfig {
  const c = t.chains.get(name);
  if (!c) throw new IptError("iptables: No chain/target/match by that name.");
  return c;
}

/**
 * The chain, changeable by this command (checked to exist). `edit` changes its rules in
 * place when this command already owns the chain; otherwise it is given the old rules and
 * returns the new array (one copy of a large chain, not a copy and a splice).
 */
function writable(t: TableConfig, name: string, edit?: { inPlace(rules: RuleConfig[]): void; copy(old: readonly RuleConfig[]): RuleConfig[] }): ChainConfig {
  chainOf(t, name);
  let copied = false;
  const c = editChains(t).mutable(
    name,
    edit &&
      ((old) => {
        copied = true;
        return edit.copy(old);
      }),
  )!;
  if (edit && !copied) edit.inPlace(c.rules);
  return c;
}

export function newChain(t: TableConfig, name: string): void {
  if (t.chains.has(name)) throw new IptError("iptables: Chain already exists.");
  editChains(t).add(name, null);
}

/** nf_tables refusing to delete a built-in, referenced or non-empty chain. */
function chainBusy(name: string): IptError {
  return new IptError(`iptables v1.8.9 (nf_tables):  CHAIN_DEL failed (Device or resource busy): chain ${name}`);
}

export function deleteChain(t: TableConfig, name: string): void {
  const c = chainOf(t, name);
  // iptables-nft 1.8.9 (nft_chain_user_del): an empty built-in chain that was never
  // made an nf_tables base chain is not found; one with rules is busy.
  if (c.policy !== null && !c.rules.length) throw new IptError("iptables: No chain/target/match by that name.");
  if (c.policy !== null || c.rules.length || referencesTo(t, name)) throw chainBusy(name);
  editChains(t).remove(name);
}

/** -X without a chain: every empty, unreferenced user chain (and fails on the first that is not). */
export function deleteAllUserChains(t: TableConfig): void {
  for (const name of creationOrder(t)) {
    if (t.chains.get(name)!.policy !== null) continue;
    deleteChain(t, name);
  }
}

/** -A / -I (at a 0-based index). */
export function insertRule(t: TableConfig, chain: string, at: number, given: RuleConfig): void {
  const m = editChains(t);
  const rule = m.intern(given);
  chainOf(t, chain);
  m.insertAt(chain, at, rule);
  m.ruleAdded(chain, rule);
}

/** -R (0-based index, checked by the caller). */
export function replaceRule(t: TableConfig, chain: string, at: number, given: RuleConfig): void {
  const c = writable(t, chain);
  const rule = editChains(t).intern(given);
  const old = c.rules[at]!;
  c.rules[at] = rule;
  const m = editChains(t);
  m.ruleRemoved(chain, old);
  m.ruleAdded(chain, rule);
}

/** -D (0-based index, checked by the caller). */
export function deleteRule(t: TableConfig, chain: string, at: number): void {
  const old = chainOf(t, chain).rules[at]!;
  writable(t, chain, {
    inPlace: (rs) => rs.splice(at, 1),
    copy: (rs) => {
      const out = new Array<RuleConfig>(rs.length - 1);
      for (let i = 0; i < at; i++) out[i] = rs[i]!;
      for (let i = at + 1; i < rs.length; i++) out[i - 1] = rs[i]!;
      return out;
    },
  });
  editChains(t).ruleRemoved(chain, old);
}

/** -F CHAIN */
export function flushChain(t: TableConfig, chain: string): void {
  const old = chainOf(t, chain).rules;
  if (!old.length) return;
  const c = writable(t, chain, { inPlace: () => {}, copy: () => [] });
  const m = editChains(t);
  for (const r of old) m.ruleRemoved(chain, r);
  c.rules = [];
}

/** -P, or a built-in chain's line in iptables-restore. */
export function setPolicy(t: TableConfig, chain: string, policy: "ACCEPT" | "DROP"): void {
  const c = writable(t, chain);
  c.policy = policy;
  c.counted = true;
}

/** -E: the chain and every rule that names it take the new name. */
export function renameChain(t: TableConfig, from: string, to: string): void {
  const m = editChains(t);
  const callers = [...indexOf(t).graph.callers(from)];
  m.rename(from, to);
  for (const caller of callers) {
    const name = caller === from ? to : caller;
    const c = m.mutable(name)!;
    c.rules = c.rules.map((r) => (r.target && r.target.name === from ? { ...r, target: { ...r.target, name: to } } : r));
  }
}

/** iptables-restore without --noflush: the table's built-in chains, empty, policies kept; no user chains. */
export function flushTable(t: TableConfig): void {
  const old = t.chains;
  const fresh = ChainMap.empty();
  t.chains = fresh;
  const m = editChains(t);
  for (const def of TABLES[t.name].chains) {
    const was = old.get(def.name)!;
    const c = m.add(def.name, was.policy);
    if (was.counted) c.counted = true;
  }
}

/** Equal rules, as -D and -C compare them (the cheap fields first). */
export function ruleEquals(a: RuleConfig, b: RuleConfig): boolean {
  if (a === b) return true;
  if (a.proto !== b.proto || a.matches.length !== b.matches.length || (a.target?.name ?? null) !== (b.target?.name ?? null)) return false;
  if ((a.dst?.addr ?? -1) !== (b.dst?.addr ?? -1) || (a.src?.addr ?? -1) !== (b.src?.addr ?? -1)) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The position of the first rule equal to `rule`, or -1. */
export function findRule(c: ChainConfig, rule: RuleConfig): number {
  const rs = c.rules;
  for (let i = 0; i < rs.length; i++) if (ruleEquals(rs[i]!, rule)) return i;
  return -1;
}
