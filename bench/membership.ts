// Suite 1: ipset membership against the equivalent linear iptables chain. Both sides
// are walked by the netfilter rule walker: chain SET-<type> holds one rule
// `-m set --match-set S <dirs> -j ACCEPT`, chain LIN-<type> holds N rules each matching
// one element. The packet matches the last element (the chain walks all N rules), or
// nothing (a miss: N rules too).
import { hostWithLayers } from "../src/layers.ts";
import { doTable } from "../src/netfilter/walker.ts";
import type { HookState } from "../src/dataplane/hooks.ts";
import { Hook } from "../src/dataplane/hooks.ts";
import { blankPacket, IPPROTO_TCP, type Packet } from "../src/wire/packet.ts";
import { formatIPv4 } from "../src/wire/ipv4.ts";
import { type BenchConfig, fmtN, fmtNs, fmtRme, measure, ratio, table, writeResult, type Measure } from "./lib.ts";

interface SetType {
  type: string;
  dirs: string;
  /** element i as ipset adds it */
  elem(i: number): string;
  /** the same element as iptables rule matches */
  rule(i: number): string;
  /** a packet that is element i */
  pkt(i: number, p: Packet): void;
}

const A = (i: number) => (0x0a000000 + i) >>> 0; // 10.0.0.0 + i
const NET = (i: number) => (0x0b000000 + i * 256) >>> 0; // 11.0.0.0/24 + i
const PORT = (i: number) => 1 + (i % 60000);
const SRC = (i: number) => (0x0c000000 + i) >>> 0;

export const SET_TYPES: SetType[] = [
  { type: "hash:ip", dirs: "dst", elem: (i) => formatIPv4(A(i)), rule: (i) => `-d ${formatIPv4(A(i))}`, pkt: (i, p) => void (p.daddr = A(i)) },
  { type: "hash:net", dirs: "dst", elem: (i) => `${formatIPv4(NET(i))}/24`, rule: (i) => `-d ${formatIPv4(NET(i))}/24`, pkt: (i, p) => void (p.daddr = NET(i) + 7) },
  {
    type: "hash:ip,port",
    dirs: "dst,dst",
    elem: (i) => `${formatIPv4(A(i))},tcp:${PORT(i)}`,
    rule: (i) => `-d ${formatIPv4(A(i))} -p tcp -m tcp --dport ${PORT(i)}`,
    pkt: (i, p) => {
      p.daddr = A(i);
      p.dport = PORT(i);
    },
  },
  {
    type: "hash:ip,port,ip",
    dirs: "dst,dst,src",
    elem: (i) => `${formatIPv4(A(i))},tcp:${PORT(i)},${formatIPv4(SRC(i))}`,
    rule: (i) => `-d ${formatIPv4(A(i))} -p tcp -m tcp --dport ${PORT(i)} -s ${formatIPv4(SRC(i))}`,
    pkt: (i, p) => {
      p.daddr = A(i);
      p.dport = PORT(i);
      p.saddr = SRC(i);
    },
  },
  {
    type: "hash:net,port",
    dirs: "dst,dst",
    elem: (i) => `${formatIPv4(NET(i))}/24,tcp:${PORT(i)}`,
    rule: (i) => `-d ${formatIPv4(NET(i))}/24 -p tcp -m tcp --dport ${PORT(i)}`,
    pkt: (i, p) => {
      p.daddr = NET(i) + 7;
      p.dport = PORT(i);
    },
  },
  {
    type: "hash:ip,port,net",
    dirs: "dst,dst,src",
    elem: (i) => `${formatIPv4(A(i))},tcp:${PORT(i)},${formatIPv4(NET(i))}/24`,
    rule: (i) => `-d ${formatIPv4(A(i))} -p tcp -m tcp --dport ${PORT(i)} -s ${formatIPv4(NET(i))}/24`,
    pkt: (i, p) => {
      p.daddr = A(i);
      p.dport = PORT(i);
      p.saddr = NET(i) + 9;
    },
  },
];

export interface MembershipRow {
  type: string;
  n: number;
  set: { last: Measure; miss: Measure };
  chain: { last: Measure; miss: Measure } | null;
}

export function membershipSuite(cfg: BenchConfig, sizes: number[], chainMax: number): { rows: MembershipRow[]; text: string } {
  const rows: MembershipRow[] = [];
  for (const st of SET_TYPES) {
    for (const n of sizes) {
      const { host, layers } = hostWithLayers();
      const name = "S";
      const sl = [`create ${name} ${st.type} family inet hashsize 1024 maxelem ${Math.max(65536, n * 2)}`];
      for (let i = 0; i < n; i++) sl.push(`add ${name} ${st.elem(i)}`);
      host.exec("ipset restore", "host", sl.join("\n") + "\n");
      const withChain = n <= chainMax;
      const r = ["*filter", ":SETCHAIN - [0:0]", ":LINCHAIN - [0:0]", `-A SETCHAIN -m set --match-set ${name} ${st.dirs} -j ACCEPT`];
      if (withChain) for (let i = 0; i < n; i++) r.push(`-A LINCHAIN ${st.rule(i)} -j ACCEPT`);
      r.push("COMMIT", "");
      host.exec("iptables-restore", "host", r.join("\n"));
      const rt = layers.netfilter;
      const t = rt.compiled("host", "filter")!;
      const setChain = t.chains.get("SETCHAIN")!;
      const linChain = t.chains.get("LINCHAIN")!;
      const hs: HookState = { hook: Hook.Forward, ns: "host", inDev: null, outDev: null, reason: "" };
      const hit = blankPacket();
      hit.proto = IPPROTO_TCP;
      hit.sport = 40000;
      hit.saddr = 0x0d000001;
      hit.len = 60;
      st.pkt(n - 1, hit);
      const miss = { ...hit };
      st.pkt(n + 5, miss);
      miss.dport = hit.dport === 65000 ? 65001 : 65000;
      // Sanity: the packets are what they claim to be, for the set and for the chain.
      const set = rt.resolveSet("host", name)!;
      const d = st.dirs.split(",").map((x) => x === "src");
      if (set.test(hit, d, null, 0, false) !== 1 || set.test(miss, d, null, 0, false) !== 0) throw new Error(`${st.type} ${n}: set test disagrees`);
      if (withChain) {
        const before = linChain.rules[n - 1]!.counters.pkts;
        doTable(linChain, hit, hs, null);
        if (linChain.rules[n - 1]!.counters.pkts !== before + 1) throw new Error(`${st.type} ${n}: the chain's last rule did not match`);
      }
      const label = `membership ${st.type} N=${fmtN(n)}`;
      const row: MembershipRow = {
        type: st.type,
        n,
        set: {
          last: measure(`${label} set hit`, () => void doTable(setChain, hit, hs, null), cfg),
          miss: measure(`${label} set miss`, () => void doTable(setChain, miss, hs, null), cfg),
        },
        chain: withChain
          ? {
              last: measure(`${label} chain last`, () => void doTable(linChain, hit, hs, null), cfg),
              miss: measure(`${label} chain miss`, () => void doTable(linChain, miss, hs, null), cfg),
            }
          : null,
      };
      rows.push(row);
    }
  }
  const out: (string | number)[][] = [];
  for (const r of rows) {
    const base = rows.find((x) => x.type === r.type && x.n === sizes[0])!;
    out.push([
      r.type,
      fmtN(r.n),
      `${fmtNs(r.set.last.ns)} ${fmtRme(r.set.last.rme)}`,
      `${fmtNs(r.set.miss.ns)} ${fmtRme(r.set.miss.rme)}`,
      ratio(r.set.last.ns, base.set.last.ns),
      r.chain ? `${fmtNs(r.chain.last.ns)} ${fmtRme(r.chain.last.rme)}` : "-",
      r.chain ? `${fmtNs(r.chain.miss.ns)} ${fmtRme(r.chain.miss.rme)}` : "-",
      r.chain ? ratio(r.chain.last.ns, r.set.last.ns) : "-",
    ]);
  }
  const text = table(
    "Suite 1 — membership: one `-m set` rule vs a linear chain of N rules (ns per packet through the rule walker)",
    ["set type", "N", "set: last", "set: miss", "set vs N=" + fmtN(sizes[0]!), "chain: last", "chain: miss", "chain/ipset"],
    out,
  );
  writeResult("membership", { sizes, rows });
  return { rows, text };
}
