// iptables -L and -S output (print_firewall / print_header in iptables, nft-ipv4.c).
import { formatIPv4 } from "../../wire/ipv4.ts";
import type { ChainConfig, RuleConfig, TableConfig } from "../types.ts";
import type { CompiledTable } from "../compile.ts";
import { referencesTo } from "../tables.ts";
import { MATCHES } from "../matches/index.ts";
import { TARGETS } from "../targets/index.ts";
import { chainOrder, protoName, ruleSpec } from "../save.ts";

export interface ListOptions {
  numeric: boolean;
  verbose: boolean;
  exact: boolean;
  lineNumbers: boolean;
}

type Count = { pkts: number; bytes: number };
const ZERO: Count = { pkts: 0, bytes: 0 };

function ruleCount(ct: CompiledTable | null, chain: string, i: number): Count {
  return ct?.chains.get(chain)?.rules[i]?.counters ?? ZERO;
}

// xtables_print_num(): 5 wide, with K/M/G/T suffixes past 99999 unless -x (8 wide).
function num(n: number, exact: boolean): string {
  if (exact) return `${String(n).padStart(8)} `;
  let v = n;
  const units = ["", "K", "M", "G", "T"];
  let u = 0;
  while (v > 99999 && u < units.length - 1) {
    v = Math.floor(v / 1000);
    u++;
  }
  return `${String(v).padStart(u ? 4 : 5)}${units[u]} `;
}

function addr(a: RuleConfig["src"], numeric: boolean): string {
  if (!a || a.plen === 0) return numeric ? "0.0.0.0/0" : "anywhere";
  // Without -n, names come from /etc/hosts (the namespace has no resolver beyond it).
  if (!numeric && a.plen === 32 && a.addr === 0x7f000001) return "localhost";
  return a.plen === 32 ? formatIPv4(a.addr) : `${formatIPv4(a.addr)}/${a.plen}`;
}

function iface(i: RuleConfig["inIface"], numeric: boolean): string {
  if (!i) return numeric ? "*" : "any";
  return (i.inv ? "!" : "") + i.name + (i.wildcard ? "+" : "");
}

// print_firewall(): "%-9s " target, the protocol (a number with -n under nf_tables),
// "-- ", in/out with -v, then source and destination as inversion mark + "%-19s ".
function ruleLine(rule: RuleConfig, o: ListOptions, count: Count, n: number): string {
  let s = o.lineNumbers ? `${String(n).padEnd(4)} ` : "";
  if (o.verbose) s += num(count.pkts, o.exact) + num(count.bytes, o.exact);
  const t = rule.target;
  const targetName = t ? t.name : "";
  s += `${targetName.padEnd(9)} `;
  const prot = o.numeric ? String(rule.proto) : rule.proto ? protoName(rule.proto) : "all";
  s += `${rule.protoInv ? "!" : " "}${prot.padEnd(5)}`;
  s += "-- ";
  if (o.verbose) s += ` ${iface(rule.inIface, o.numeric).padEnd(6)} ${iface(rule.outIface, o.numeric).padEnd(6)} `;
  s += `${rule.src?.inv ? "!" : " "}${addr(rule.src, o.numeric).padEnd(19)} `;
  s += `${rule.dst?.inv ? "!" : " "}${addr(rule.dst, o.numeric).padEnd(19)} `;
  for (const m of rule.matches) {
    const text = MATCHES.get(m.name)!.list(m, o.numeric);
    if (text) s += ` ${text}`;
  }
  if (t) {
    const ext = TARGETS.get(t.name);
    const text = ext ? ext.list(t, o.numeric) : t.goto ? "[goto]" : "";
    if (text) s += ` ${text}`;
  }
  return s;
}

function header(t: TableConfig, c: ChainConfig, o: ListOptions, ct: CompiledTable | null): string[] {
  let title: string;
  if (c.policy !== null) {
    const pc = c.counted ? (ct?.chains.get(c.name)?.policyCounters ?? ZERO) : ZERO;
    const n = (v: number) => (o.exact ? String(v) : num(v, false).trim());
    title = o.verbose ? `Chain ${c.name} (policy ${c.policy} ${n(pc.pkts)} packets, ${n(pc.bytes)} bytes)` : `Chain ${c.name} (policy ${c.policy})`;
  } else {
    title = `Chain ${c.name} (${referencesTo(t, c.name)} references)`;
  }
  let cols = o.lineNumbers ? "num  " : "";
  if (o.verbose) cols += `${o.exact ? "    pkts      bytes" : " pkts bytes"} target     prot opt in     out     source               destination         `;
  else cols += "target     prot opt source               destination         ";
  return [title, cols];
}

export function listChains(t: TableConfig, chain: string | null, o: ListOptions, ct: CompiledTable | null, rulenum: number | null = null): string {
  const names = chain ? [chain] : chainOrder(t);
  if (rulenum !== null) {
    // -L CHAIN N prints that rule's line alone.
    const r = t.chains.get(chain!)!.rules[rulenum - 1];
    return r ? ruleLine(r, o, ruleCount(ct, chain!, rulenum - 1), rulenum) + "\n" : "";
  }
  const blocks = names.map((name) => {
    const c = t.chains.get(name)!;
    const lines = header(t, c, o, ct);
    c.rules.forEach((r, i) => lines.push(ruleLine(r, o, ruleCount(ct, name, i), i + 1)));
    return lines.join("\n") + "\n";
  });
  return blocks.join("\n");
}

/** iptables -S [chain] */
export function listRules(t: TableConfig, chain: string | null, verbose: boolean, ct: CompiledTable | null, rulenum: number | null = null): string {
  if (rulenum !== null) {
    const r = t.chains.get(chain!)!.rules[rulenum - 1];
    const rc = ruleCount(ct, chain!, rulenum - 1);
    return r ? `-A ${chain}${ruleSpec(r)}${verbose ? ` -c ${rc.pkts} ${rc.bytes}` : ""}\n` : "";
  }
  const names = chain ? [chain] : chainOrder(t);
  const lines: string[] = [];
  for (const name of names) {
    const c = t.chains.get(name)!;
    if (c.policy !== null) {
      const pc = c.counted ? (ct?.chains.get(name)?.policyCounters ?? ZERO) : ZERO;
      lines.push(`-P ${name} ${c.policy}${verbose ? ` -c ${pc.pkts} ${pc.bytes}` : ""}`);
    } else lines.push(`-N ${name}`);
  }
  for (const name of names) {
    t.chains.get(name)!.rules.forEach((r, i) => {
      const rc = ruleCount(ct, name, i);
      lines.push(`-A ${name}${ruleSpec(r)}${verbose ? ` -c ${rc.pkts} ${rc.bytes}` : ""}`);
    });
  }
  return lines.map((l) => l + "\n").join("");
}
