// The iptables tables, their built-in chains and the hooks and priorities they sit at
// (net/ipv4/netfilter/iptable_*.c), and the pure functions that change them.
import { Hook, NF_IP_PRI_FILTER, NF_IP_PRI_MANGLE, NF_IP_PRI_NAT_DST, NF_IP_PRI_NAT_SRC, NF_IP_PRI_RAW } from "../dataplane/hooks.ts";
import { plain } from "../config/plain.ts";
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
  const t: TableConfig = { name, chains: {}, order: [] };
  for (const c of TABLES[name].chains) {
    t.chains[c.name] = { name: c.name, policy: "ACCEPT", rules: [] };
    t.order.push(c.name);
  }
  return t;
}

export function netfilterOf(nsc: NetnsConfig): NetfilterConfig {
  if (!nsc.ext.netfilter) nsc.ext.netfilter = { tables: {} };
  return nsc.ext.netfilter;
}

/** The table, instantiated on first use as the kernel does. */
export function tableOf(nsc: NetnsConfig, name: TableName): TableConfig {
  const nf = netfilterOf(nsc);
  let t = nf.tables[name];
  if (!t) t = nf.tables[name] = emptyTable(name);
  return t;
}

export function isBuiltin(table: TableName, chain: string): boolean {
  return TABLES[table].chains.some((c) => c.name === chain);
}

/** Rules anywhere in the table that jump or go to chain. */
export function referencesTo(t: TableConfig, chain: string): number {
  const table = plain(t);
  let n = 0;
  for (const name of table.order) for (const r of table.chains[name]!.rules) if (r.target && r.target.name === chain) n++;
  return n;
}

export class IptError extends Error {}

export function chainOf(t: TableConfig, name: string): ChainConfig {
  const c = t.chains[name];
  if (!c) throw new IptError("iptables: No chain/target/match by that name.");
  return c;
}

export function newChain(t: TableConfig, name: string): void {
  if (t.chains[name]) throw new IptError("iptables: Chain already exists.");
  t.chains[name] = { name, policy: null, rules: [] };
  t.order.push(name);
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
  if (c.policy !== null || referencesTo(t, name) || c.rules.length) throw chainBusy(name);
  delete t.chains[name];
  t.order = t.order.filter((n) => n !== name);
}

/** -X without a chain: every empty, unreferenced user chain (and fails on the first that is not). */
export function deleteAllUserChains(t: TableConfig): void {
  for (const name of [...t.order]) {
    if (t.chains[name]!.policy !== null) continue;
    deleteChain(t, name);
  }
}

export function ruleEquals(a: RuleConfig, b: RuleConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
