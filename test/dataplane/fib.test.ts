// The FIB lookup (fib_lookup -> fib_table_lookup) over a namespace's routes: longest
// prefix across the local and main tables (one trie while no policy rule exists), the
// local table's entry first on one prefix, then the lowest metric; other tables unused.
// Each case was checked with `ip route get` in a fresh namespace (Linux 6.18).
import { describe, expect, it } from "vitest";
import { Fib } from "../../src/dataplane/fib.ts";
import { PList } from "../../src/config/plist.ts";
import type { RouteConfig } from "../../src/config/types.ts";
import { RT_TABLE_LOCAL, RT_TABLE_MAIN } from "../../src/config/types.ts";
import { formatIPv4, parseIPv4 } from "../../src/wire/ipv4.ts";

const VA = 2;
const VB = 3;
const LO = 1;

function route(text: string, dev: number, more: Partial<RouteConfig> = {}): RouteConfig {
  const [a, len] = text.split("/");
  return { table: RT_TABLE_MAIN, type: "unicast", dst: parseIPv4(a!)!, plen: Number(len ?? 32), dev, via: null, src: null, scope: "link", proto: "boot", metric: 0, ...more };
}

/** What `ip route get ADDR` would start with: type, via, dev. */
function get(fib: Fib, addr: string): string {
  const r = fib.lookup(parseIPv4(addr)!);
  if (!r) return "unreachable";
  const dev = { [LO]: "lo", [VA]: "va", [VB]: "vb" }[r.dev!];
  return `${r.type === "unicast" ? "" : `${r.type} `}${r.via !== null ? `via ${formatIPv4(r.via)} ` : ""}dev ${dev}`;
}

const L = (routes: RouteConfig[]) => PList.from(routes);

describe("FIB lookup", () => {
  const fib = new Fib(L([
    route("10.0.0.0/24", VA, { proto: "kernel" }),
    route("10.0.0.1", LO, { table: RT_TABLE_LOCAL, type: "local", scope: "host" }),
    route("10.0.0.255", VA, { table: RT_TABLE_LOCAL, type: "broadcast" }),
    route("10.1.0.0/16", VB),
    route("10.0.0.0/8", VA, { via: parseIPv4("10.0.0.9"), scope: "global" }),
    route("0.0.0.0/0", VA, { via: parseIPv4("10.0.0.254"), scope: "global" }),
    route("10.1.2.0/24", VA, { metric: 10 }),
    route("10.1.2.0/24", VB, { metric: 5 }),
    route("172.16.0.0/12", LO, { table: RT_TABLE_LOCAL, type: "local", scope: "host" }),
    route("172.16.5.0/24", VB),
    route("127.0.0.0/8", LO, { table: RT_TABLE_LOCAL, type: "local", scope: "host" }),
    route("127.0.0.5", VA),
    route("192.168.7.0/24", VB, { table: 100 }),
  ]));

  it("takes the longest matching prefix", () => {
    expect(get(fib, "10.1.9.9")).toBe("dev vb");
    expect(get(fib, "10.200.0.1")).toBe("via 10.0.0.9 dev va");
    expect(get(fib, "10.0.0.77")).toBe("dev va");
    expect(get(fib, "8.8.8.8")).toBe("via 10.0.0.254 dev va");
  });

  it("on one prefix takes the lowest metric", () => {
    expect(get(fib, "10.1.2.3")).toBe("dev vb");
  });

  it("weighs local and main routes by prefix alone: a main /24 beats a local /12, a main /32 a local /8", () => {
    expect(get(fib, "172.16.5.5")).toBe("dev vb");
    expect(get(fib, "172.16.9.9")).toBe("local dev lo");
    expect(get(fib, "127.0.0.5")).toBe("dev va");
    expect(get(fib, "127.0.0.6")).toBe("local dev lo");
  });

  it("on one prefix in both tables takes the local one", () => {
    const both = new Fib(L([route("172.16.5.0/24", VB), route("172.16.5.0/24", LO, { table: RT_TABLE_LOCAL, type: "local", scope: "host" })]));
    expect(get(both, "172.16.5.5")).toBe("local dev lo");
  });

  it("finds our own address and the subnet broadcast in the local table", () => {
    expect(get(fib, "10.0.0.1")).toBe("local dev lo");
    expect(get(fib, "10.0.0.255")).toBe("broadcast dev va");
  });

  it("never consults another table without a policy rule (none is modelled)", () => {
    expect(get(fib, "192.168.7.1")).toBe("via 10.0.0.254 dev va");
    expect(get(new Fib(L([route("192.168.7.0/24", VB, { table: 100 })])), "192.168.7.1")).toBe("unreachable");
  });
});

function r(table: number, dst: string, plen: number, metric: number, dev: number): RouteConfig {
  return { table, type: table === RT_TABLE_LOCAL ? "local" : "unicast", dst: parseIPv4(dst)!, plen, dev, via: null, src: null, scope: "link", proto: "static", metric };
}

const probes = ["10.0.0.1", "10.0.1.7", "10.1.2.3", "192.168.0.1", "8.8.8.8"].map((a) => parseIPv4(a)!);
const answers = (f: Fib) => probes.map((a) => f.lookup(a));

// The FIB kept in step with a namespace's routes (Fib.update) finds what a FIB built from
// scratch finds: longest prefix, local table first, lowest metric, then the route listed first.
describe("Fib.update", () => {
  const a = r(RT_TABLE_MAIN, "10.0.0.0", 16, 0, 1);
  const b = r(RT_TABLE_MAIN, "10.0.0.0", 16, 0, 2); // same prefix and metric: a, listed first, wins
  const c = r(RT_TABLE_MAIN, "10.0.0.0", 16, 5, 3);
  const d = r(RT_TABLE_MAIN, "10.0.1.0", 24, 0, 4);
  const e = r(RT_TABLE_MAIN, "0.0.0.0", 0, 0, 5);
  const l = r(RT_TABLE_LOCAL, "10.0.0.1", 32, 0, 6);

  it("ties of prefix and metric go to the route listed first, before and after the winner goes", () => {
    const abc = L([a, b, c]);
    const f = new Fib(abc);
    expect(f.lookup(parseIPv4("10.0.5.5")!)).toBe(a);
    const bc = abc.remove(a);
    f.update(abc, bc);
    expect(f.lookup(parseIPv4("10.0.5.5")!)).toBe(b);
    const justC = bc.remove(b);
    f.update(bc, justC);
    expect(f.lookup(parseIPv4("10.0.5.5")!)).toBe(c);
    f.update(justC, justC.remove(c));
    expect(f.lookup(parseIPv4("10.0.5.5")!)).toBe(null);
  });

  it("any sequence of pushes, removals and replacements answers as a fresh build", () => {
    const steps: RouteConfig[][] = [[], [e], [e, d], [e, d, b], [e, d, b, a], [l, e, d, b, a], [l, e, c, b, a], [l, c, b], [a, c, b, d], [d], []];
    const f = new Fib(PList.empty());
    let prev = PList.empty<RouteConfig>();
    for (const step of steps) {
      const next = L(step);
      f.update(prev, next);
      expect(answers(f)).toEqual(answers(new Fib(next)));
      expect(f.merged.entries().length).toBe(new Fib(next).merged.entries().length);
      prev = next;
    }
  });
});
