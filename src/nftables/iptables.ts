// iptables is iptables-nft: its tables are nf_tables tables, so `nft list ruleset` shows
// them (iptables/nft-*.c translate matches to nft expressions where they can) and
// `nft flush ruleset` / `nft delete table ip nat` remove them. The translation here is
// approximate; where it differs from nft's is said in README.
import type { Config } from "../config/types.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import type { NetfilterRuntime } from "../netfilter/runtime.ts";
import type { MatchSpec, RuleConfig, TableConfig, TableName, TargetSpec } from "../netfilter/types.ts";
import { creationOrder, TABLES } from "../netfilter/tables.ts";
import { TARGETS } from "../netfilter/targets/index.ts";
import { formatValue } from "./datatypes.ts";

const PROTO: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp" };
const HOOK_NAME = ["prerouting", "input", "forward", "output", "postrouting"];
const ORDER: TableName[] = ["filter", "nat", "mangle", "raw"];

function addr(prefix: string, a: { addr: number; plen: number; inv: boolean } | null): string | null {
  if (!a) return null;
  return `ip ${prefix} ${a.inv ? "!= " : ""}${formatIPv4(a.addr)}${a.plen === 32 ? "" : `/${a.plen}`}`;
}

function iface(key: string, i: { name: string; wildcard: boolean; inv: boolean } | null): string | null {
  if (!i) return null;
  return `${key} ${i.inv ? "!= " : ""}"${i.name}${i.wildcard ? "*" : ""}"`;
}

function ports(v: unknown): string | null {
  if (!Array.isArray(v)) return null;
  const [lo, hi] = v as number[];
  return lo === hi ? String(lo) : `${lo}-${hi}`;
}

function matchText(r: RuleConfig, m: MatchSpec, protoShown: { v: boolean }): string {
  const o = m.opts;
  const p = PROTO[r.proto] ?? String(r.proto);
  const inv = (k: string) => (o["!" + k] ? "!= " : "");
  switch (m.name) {
    case "tcp":
    case "udp": {
      const parts: string[] = [];
      const sp = ports(o["sport"]);
      const dp = ports(o["dport"]);
      if (sp) parts.push(`${p} sport ${inv("sport")}${sp}`);
      if (dp) parts.push(`${p} dport ${inv("dport")}${dp}`);
      protoShown.v = true;
      return parts.join(" ");
    }
    case "multiport": {
      const list = (o["dports"] ?? o["ports"] ?? o["sports"]) as unknown;
      const key = o["sports"] ? "sport" : "dport";
      const items = Array.isArray(list) ? (list as (number | number[])[]).map((x) => (Array.isArray(x) ? (x[0] === x[1] ? String(x[0]) : `${x[0]}-${x[1]}`) : String(x))) : [];
      return `${protoShown.v ? "" : `meta l4proto ${p} `}${p} ${key} { ${items.join(", ")} }`;
    }
    case "icmp":
      return `icmp type ${o["type"] ?? ""}`.trimEnd();
    case "comment":
      return "";
    case "mark": {
      const [v, mask] = o["mark"] as number[];
      if (mask === 0xffffffff) return `meta mark ${o["!mark"] ? "!= " : ""}${formatValue("mark", v!)}`;
      return `meta mark & ${formatValue("mark", mask!)} ${o["!mark"] ? "!=" : "=="} ${formatValue("mark", v!)}`;
    }
    case "conntrack":
    case "state": {
      const states = ((o["ctstate"] ?? o["state"]) as string[] | undefined) ?? [];
      const order = ["INVALID", "RELATED", "ESTABLISHED", "NEW", "UNTRACKED"];
      const names = order.filter((s) => states.includes(s)).map((s) => s.toLowerCase());
      return `ct state ${o["!ctstate"] || o["!state"] ? "!= " : ""}${names.join(",")}`;
    }
    default:
      return `xt match "${m.name}"`;
  }
}

function targetText(t: TargetSpec | null): string {
  if (!t) return "";
  const o = t.opts;
  switch (t.name) {
    case "ACCEPT":
      return "accept";
    case "DROP":
      return "drop";
    case "RETURN":
      return "return";
    case "MASQUERADE": {
      const r = o["to"] as number[] | undefined;
      return `masquerade${r ? ` to :${r[2]}${r[3] !== r[2] ? `-${r[3]}` : ""}` : ""}${o["random-fully"] ? " fully-random" : o["random"] ? " random" : ""}`;
    }
    case "DNAT":
    case "SNAT": {
      const [min, max, plo, phi] = o["to"] as number[];
      let s = min || max ? formatIPv4(min!) + (max !== min ? `-${formatIPv4(max!)}` : "") : "";
      if (plo! >= 0) s += `:${plo}${phi !== plo ? `-${phi}` : ""}`;
      return `${t.name.toLowerCase()} to ${s}`;
    }
    case "REJECT": {
      const w = Number(o["with"] ?? 3);
      return w === -1 ? "reject with tcp reset" : w === 3 ? "reject" : `reject with icmp ${({ 0: "net-unreachable", 1: "host-unreachable", 2: "prot-unreachable", 9: "net-prohibited", 10: "host-prohibited", 13: "admin-prohibited" } as Record<number, string>)[w]}`;
    }
    case "NOTRACK":
      return "notrack";
    case "LOG":
      return `log${o["prefix"] !== undefined ? ` prefix "${o["prefix"]}"` : ""}`;
    case "MARK":
      return `meta mark set mark and ${formatValue("mark", ~Number(o["mask"]) >>> 0)} xor ${formatValue("mark", Number(o["mark"]))}`;
    default:
      if (TARGETS.has(t.name)) return `xt target "${t.name}"`;
      return `${t.goto ? "goto" : "jump"} ${t.name}`;
  }
}

function ruleText(r: RuleConfig, counters: { pkts: number; bytes: number } | null, stateless: boolean): string {
  const parts: (string | null)[] = [iface("iifname", r.inIface), iface("oifname", r.outIface), addr("saddr", r.src), addr("daddr", r.dst)];
  const shown = { v: false };
  const hasProtoMatch = r.matches.some((m) => m.name === "tcp" || m.name === "udp");
  if (r.proto && !hasProtoMatch) {
    parts.push(`meta l4proto ${r.protoInv ? "!= " : ""}${PROTO[r.proto] ?? r.proto}`);
    shown.v = true;
  }
  let comment = "";
  for (const m of r.matches) {
    if (m.name === "comment") comment = String(m.opts["comment"]);
    const t = matchText(r, m, shown);
    if (t) parts.push(t);
  }
  parts.push(stateless ? "counter" : `counter packets ${counters?.pkts ?? 0} bytes ${counters?.bytes ?? 0}`);
  const t = targetText(r.target);
  if (t) parts.push(t);
  if (comment) parts.push(`comment "${comment}"`);
  return parts.filter((x) => x).join(" ");
}

/** One iptables table as `nft list table` prints it (approximately). */
export function iptablesTableText(nf: NetfilterRuntime, ns: string, t: TableConfig, opts: { stateless: boolean }): string {
  const compiled = nf.compiled(ns, t.name);
  const blocks: string[] = [];
  for (const name of creationOrder(t)) {
    const c = t.chains.get(name)!;
    const def = TABLES[t.name].chains.find((x) => x.name === name);
    // iptables-nft creates a built-in chain when it is first used.
    if (def && c.rules.length === 0 && c.policy !== "DROP") continue;
    let b = `\tchain ${name} {\n`;
    if (def) {
      const hook = HOOK_NAME[def.hook]!;
      const type = t.name === "nat" ? "nat" : "filter";
      const prio = t.name === "nat" ? (hook === "prerouting" ? "dstnat" : hook === "postrouting" ? "srcnat" : hook === "output" ? "-100" : "100") : t.name;
      b += `\t\ttype ${type} hook ${hook} priority ${prio}; policy ${c.policy === "DROP" ? "drop" : "accept"};\n`;
    }
    const cc = compiled?.chains.get(name);
    c.rules.forEach((r, i) => {
      b += `\t\t${ruleText(r, cc?.rules[i]?.counters ?? null, opts.stateless)}\n`;
    });
    blocks.push(b + "\t}\n");
  }
  return `table ip ${t.name} {\n${blocks.join("\n")}}\n`;
}

/** iptables' tables of a namespace, in nft's words, in the order iptables-nft lists them. */
export function iptablesTables(config: Config, ns: string): TableConfig[] {
  const tables = config.netns[ns]?.ext.netfilter?.tables ?? {};
  return ORDER.map((n) => tables[n]).filter((t): t is TableConfig => !!t);
}
