// iptables -L and -S output (print_firewall / print_header in iptables, nft-ipv4.c).
import { formatIPv4 } from "../../wire/ipv4.ts";
import type { ChainConfig, RuleConfig, TableConfig } from "../../netfilter/types.ts";
import type { CompiledTable } from "../../netfilter/compile.ts";
import { referencesTo } from "../../netfilter/tables.ts";
import { MATCHES } from "../../netfilter/matches/index.ts";
import { TARGETS } from "../../netfilter/targets/index.ts";
import { protoName, ruleSpec } from "../../netfilter/save.ts";

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
function policyCount(ct: CompiledTable | null, chain: string): Count {
  return ct?.chains.get(chain)?.policyCounters ?? ZERO;
}

// xtables_print_num(): 5 wide, with K/M/G/T suffixes past 99999 unless -x.
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
  if (!a) return numeric ? "0.0.0.0/0" : "anywhere";
  const base = a.plen === 32 ? formatIPv4(a.addr) : `${formatIPv4(a.addr)}/${a.plen}`;
  return (a.inv ? "!" : "") + (a.plen === 0 && !numeric ? "anywhere" : base);
}

function iface(i: RuleConfig["inIface"]): string {
  if (!i) return "*";
  return (i.inv ? "!" : "") + i.name + (i.wildcard ? "+" : "");
}

function ruleLine(rule: RuleConfig, o: ListOptions, count: Count, n: number): string {
  let s = o.lineNumbers ? `${String(n).padEnd(4)}` : "";
  if (o.verbose) s += num(count.pkts, o.exact) + num(count.bytes, o.exact);
  const t = rule.target;
  const targetName = t ? (t.name === "NOTRACK" ? "CT" : t.name) : "";
  s += `${targetName.padEnd(10)} `;
  s += `${rule.protoInv ? "!" : " "}${(rule.proto ? protoName(rule.proto) : "all").padEnd(4)} `;
  s += "-- ";
  if (o.verbose) s += ` ${iface(rule.inIface).padEnd(6)} ${iface(rule.outIface).padEnd(6)} `;
  s += `${addr(rule.src, o.numeric).padEnd(20)} ${addr(rule.dst, o.numeric).padEnd(20)}`;
  const extras: string[] = [];
  for (const m of rule.matches) extras.push(MATCHES.get(m.name)!.list(m, o.numeric));
  if (t) {
    const ext = TARGETS.get(t.name);
    if (ext) extras.push(ext.list(t, o.numeric));
    else if (t.goto) extras.push(`[goto] `);
  }
  const tail = extras.filter((x) => x).join(" ");
  return tail ? `${s} ${tail}` : s;
}

function header(t: TableConfig, c: ChainConfig, o: ListOptions, ct: CompiledTable | null): string[] {
  let title: string;
  if (c.policy !== null) {
    const pc = policyCount(ct, c.name);
    title = o.verbose ? `Chain ${c.name} (policy ${c.policy} ${o.exact ? pc.pkts : num(pc.pkts, false).trim()} packets, ${o.exact ? pc.bytes : num(pc.bytes, false).trim()} bytes)` : `Chain ${c.name} (policy ${c.policy})`;
  } else {
    const refs = referencesTo(t, c.name);
    title = `Chain ${c.name} (${refs} references)`;
  }
  let cols = o.lineNumbers ? "num  " : "";
  if (o.verbose) cols += `${o.exact ? "    pkts    bytes" : " pkts bytes"} target     prot opt in     out     source               destination         `;
  else cols += "target     prot opt source               destination         ";
  return [title, cols];
}

export function listChains(t: TableConfig, chain: string | null, o: ListOptions, ct: CompiledTable | null): string {
  const names = chain ? [chain] : t.order;
  const blocks = names.map((name) => {
    const c = t.chains[name]!;
    const lines = header(t, c, o, ct);
    c.rules.forEach((r, i) => lines.push(ruleLine(r, o, ruleCount(ct, name, i), i + 1)));
    return lines.join("\n") + "\n";
  });
  return blocks.join("\n");
}

/** iptables -S [chain] */
export function listRules(t: TableConfig, chain: string | null, verbose: boolean, ct: CompiledTable | null): string {
  const names = chain ? [chain] : t.order;
  const lines: string[] = [];
  for (const name of names) {
    const c = t.chains[name]!;
    if (c.policy !== null) {
      const pc = policyCount(ct, name);
      lines.push(`-P ${name} ${c.policy}${verbose ? ` -c ${pc.pkts} ${pc.bytes}` : ""}`);
    } else lines.push(`-N ${name}`);
  }
  for (const name of names) {
    t.chains[name]!.rules.forEach((r, i) => {
      const rc = ruleCount(ct, name, i);
      lines.push(`-A ${name}${ruleSpec(r)}${verbose ? ` -c ${rc.pkts} ${rc.bytes}` : ""}`);
    });
  }
  return lines.map((l) => l + "\n").join("");
}
