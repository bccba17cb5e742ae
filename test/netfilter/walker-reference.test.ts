// Property: for random rule sets and packets, ipt_do_table's verdict (the compiled walker)
// equals a deliberately naive evaluator that reads the rule configs recursively.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { hostWithLayers } from "../../src/layers.ts";
import { doTable } from "../../src/netfilter/walker.ts";
import { TV } from "../../src/netfilter/ext.ts";
import { blankPacket, IPPROTO_TCP, IPPROTO_UDP, type Packet } from "../../src/wire/packet.ts";
import { Hook, type HookState } from "../../src/dataplane/hooks.ts";
import type { RuleConfig, TableConfig } from "../../src/netfilter/types.ts";
import { maskOf } from "../../src/wire/ipv4.ts";

const CHAINS = ["U0", "U1", "U2"];

const prefix = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom(8, 16, 24, 32), fc.boolean());
const rule = (self: number) =>
  fc.record({
    src: fc.option(prefix, { nil: null }),
    dst: fc.option(prefix, { nil: null }),
    proto: fc.constantFrom("", "tcp", "udp"),
    protoInv: fc.boolean(),
    dport: fc.option(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 2 }), fc.boolean()), { nil: null }),
    inIface: fc.option(fc.tuple(fc.constantFrom("eth0", "eth+", "veth1"), fc.boolean()), { nil: null }),
    target: fc.constantFrom("ACCEPT", "DROP", "RETURN", "", ...CHAINS.slice(self + 1).flatMap((c) => [`J${c}`, `G${c}`])),
  });

interface RuleGen {
  src: [number, number, boolean] | null;
  dst: [number, number, boolean] | null;
  proto: string;
  protoInv: boolean;
  dport: [number, number, boolean] | null;
  inIface: [string, boolean] | null;
  target: string;
}

function ruleLine(chain: string, r: RuleGen): string {
  const parts = [`-A ${chain}`];
  const addr = (opt: string, p: [number, number, boolean]) => `${p[2] ? "! " : ""}${opt} 10.${p[0]}.0.0/${p[1]}`;
  if (r.src) parts.push(addr("-s", r.src));
  if (r.dst) parts.push(addr("-d", r.dst));
  if (r.inIface) parts.push(`${r.inIface[1] ? "! " : ""}-i ${r.inIface[0]}`);
  if (r.proto) {
    parts.push(`${r.protoInv && !r.dport ? "! " : ""}-p ${r.proto}`);
    if (r.dport && !(r.protoInv && !r.dport)) parts.push(`${r.dport[2] ? "! " : ""}--dport ${r.dport[0]}:${r.dport[0] + r.dport[1]}`);
  }
  if (r.target.startsWith("J")) parts.push(`-j ${r.target.slice(1)}`);
  else if (r.target.startsWith("G")) parts.push(`-g ${r.target.slice(1)}`);
  else if (r.target) parts.push(`-j ${r.target}`);
  return parts.join(" ");
}

// The naive evaluator: direct reading of the configs, recursion for jumps.
function matches(r: RuleConfig, p: Packet, inName: string): boolean {
  const pre = (a: RuleConfig["src"], addr: number) => !a || ((((addr & maskOf(a.plen)) >>> 0) === a.addr) !== a.inv);
  if (!pre(r.src, p.saddr) || !pre(r.dst, p.daddr)) return false;
  if (r.proto && (p.proto === r.proto) === r.protoInv) return false;
  if (r.inIface) {
    const hit = r.inIface.wildcard ? inName.startsWith(r.inIface.name) : inName === r.inIface.name;
    if (hit === r.inIface.inv) return false;
  }
  for (const m of r.matches) {
    const range = m.opts["dport"] as number[] | undefined;
    if (range) {
      if (p.proto !== r.proto) return false;
      if ((p.dport >= range[0]! && p.dport <= range[1]!) === !!m.opts["!dport"]) return false;
    } else if (m.name === "tcp" || m.name === "udp") {
      if (p.proto !== r.proto) return false;
    }
  }
  return true;
}

type Result = "ACCEPT" | "DROP" | "RETURN" | "CONTINUE";
function evalChain(t: TableConfig, chain: string, p: Packet, inName: string): Result {
  for (const r of t.chains.get(chain)!.rules) {
    if (!matches(r, p, inName)) continue;
    const tg = r.target;
    if (!tg) continue;
    if (tg.name === "ACCEPT" || tg.name === "DROP") return tg.name;
    if (tg.name === "RETURN") return "RETURN";
    const sub = evalChain(t, tg.name, p, inName);
    if (sub === "ACCEPT" || sub === "DROP") return sub;
    if (tg.goto) return "RETURN"; // a goto never comes back here
  }
  return "CONTINUE";
}
function naive(t: TableConfig, p: Packet, inName: string): "ACCEPT" | "DROP" {
  const r = evalChain(t, "INPUT", p, inName);
  if (r === "ACCEPT" || r === "DROP") return r;
  return t.chains.get("INPUT")!.policy!;
}

const packet = fc.record({
  s: fc.integer({ min: 0, max: 3 }),
  d: fc.integer({ min: 0, max: 3 }),
  proto: fc.constantFrom(IPPROTO_TCP, IPPROTO_UDP, 1),
  dport: fc.integer({ min: 0, max: 8 }),
  iface: fc.constantFrom("eth0", "eth1", "veth1", "lo"),
});

describe("the chain walk", () => {
  it("gives the verdict a naive reference evaluator gives", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("ACCEPT", "DROP"),
        fc.array(rule(-1), { maxLength: 6 }),
        fc.array(rule(0), { maxLength: 4 }),
        fc.array(rule(1), { maxLength: 4 }),
        fc.array(rule(2), { maxLength: 3 }),
        fc.array(packet, { minLength: 1, maxLength: 8 }),
        (policy, input, u0, u1, u2, packets) => {
          const { host: h, layers } = hostWithLayers();
          for (const c of CHAINS) h.exec(`iptables -N ${c}`);
          const lines = [...input.map((r) => ruleLine("INPUT", r)), ...u0.map((r) => ruleLine("U0", r)), ...u1.map((r) => ruleLine("U1", r)), ...u2.map((r) => ruleLine("U2", r))];
          for (const l of lines) h.exec(`iptables ${l}`);
          h.exec(`iptables -P INPUT ${policy}`);
          const t = h.config.netns["host"]!.ext.netfilter!.tables.filter!;
          const compiled = layers.netfilter.compiled("host", "filter")!;
          for (const pk of packets) {
            const p = blankPacket();
            p.saddr = (0x0a000000 + pk.s * 65536 + 5) >>> 0;
            p.daddr = (0x0a000000 + pk.d * 65536 + 7) >>> 0;
            p.proto = pk.proto;
            p.dport = pk.dport;
            const inDev = { name: pk.iface } as unknown as HookState["inDev"];
            const st: HookState = { hook: Hook.LocalIn, ns: "host", inDev, outDev: null, reason: "" };
            const got = doTable(compiled.chains.get("INPUT")!, p, st, null) === TV.Drop ? "DROP" : "ACCEPT";
            if (got !== naive(t, p, pk.iface)) return false;
          }
          return true;
        },
      ),
      { seed: 7, numRuns: 200 },
    );
    expect(true).toBe(true);
  });
});
