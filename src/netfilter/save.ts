// iptables-save's rule text (print_rule4 in iptables/nft-ipv4.c and iptables-save.c).
import { formatIPv4 } from "../wire/ipv4.ts";
import type { AddrMatch, IfaceMatch, RuleConfig, TableConfig } from "./types.ts";
import { TABLES } from "./tables.ts";
import { MATCHES } from "./matches/index.ts";
import { TARGETS } from "./targets/index.ts";

export const PROTO_NAMES: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 132: "sctp", 33: "dccp", 136: "udplite", 47: "gre", 4: "ipencap", 50: "esp", 51: "ah" };

export function protoName(proto: number): string {
  return PROTO_NAMES[proto] ?? String(proto);
}

function addr(opt: string, a: AddrMatch | null): string {
  return a ? ` ${a.inv ? "! " : ""}${opt} ${formatIPv4(a.addr)}/${a.plen}` : "";
}
function iface(opt: string, i: IfaceMatch | null): string {
  return i ? ` ${i.inv ? "! " : ""}${opt} ${i.name}${i.wildcard ? "+" : ""}` : "";
}

/** The rule as iptables-save prints it, after "-A CHAIN". */
export function ruleSpec(rule: RuleConfig): string {
  let s = addr("-s", rule.src) + addr("-d", rule.dst) + iface("-i", rule.inIface) + iface("-o", rule.outIface);
  if (rule.proto) s += ` ${rule.protoInv ? "! " : ""}-p ${protoName(rule.proto)}`;
  for (const m of rule.matches) {
    const opts = MATCHES.get(m.name)!.save(m);
    s += ` -m ${m.name}${opts ? " " + opts : ""}`;
  }
  if (rule.target) {
    const t = rule.target;
    const ext = TARGETS.get(t.name);
    const name = t.name;
    const opts = ext ? ext.save(t) : "";
    s += ` ${t.goto ? "-g" : "-j"} ${name}${opts ? " " + opts : ""}`;
  }
  return s;
}

export function saveRule(chain: string, rule: RuleConfig): string {
  return `-A ${chain}${ruleSpec(rule)}`;
}

export interface CounterLookup {
  rule(chain: string, index: number): { pkts: number; bytes: number };
  policy(chain: string): { pkts: number; bytes: number };
}

/** One table as iptables-save prints it (without the banner comments). */
/** Built-in chains in hook order, then user chains sorted by name, as iptables-nft lists them. */
export function chainOrder(t: TableConfig): string[] {
  const builtins = TABLES[t.name].chains.map((c) => c.name).filter((n) => t.chains.has(n));
  const users: string[] = [];
  for (const c of t.chains.values()) if (c.policy === null) users.push(c.name);
  users.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return [...builtins, ...users];
}

export function saveTable(t: TableConfig, counters: CounterLookup, withRuleCounters: boolean): string[] {
  const lines = [`*${t.name}`];
  const order = chainOrder(t);
  for (const name of order) {
    const c = t.chains.get(name)!;
    const pc = c.counted ? counters.policy(name) : { pkts: 0, bytes: 0 };
    lines.push(`:${name} ${c.policy ?? "-"} [${pc.pkts}:${pc.bytes}]`);
  }
  for (const name of order) {
    const c = t.chains.get(name)!;
    c.rules.forEach((r, i) => {
      const rc = withRuleCounters ? counters.rule(name, i) : null;
      lines.push(`${rc ? `[${rc.pkts}:${rc.bytes}] ` : ""}${saveRule(name, r)}`);
    });
  }
  lines.push("COMMIT");
  return lines;
}
