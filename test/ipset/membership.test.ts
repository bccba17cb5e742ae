// membership-equals-reference: for every set type, random elements added with the ipset
// command line, random packets tested through the handle netfilter uses, and a naive
// reference (a scan over all elements, most specific network first) must agree.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { lookupSet } from "../../src/ipset/api.ts";
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, type Packet } from "../../src/wire/packet.ts";
import { fmt, inNet, ip, ipsetHost, ipsetOf, maskOf, packet, PROTO_NAMES, sh } from "./world.ts";

const BASE = ip("10.0.0.0");
const addr = fc.integer({ min: 0, max: 15 }).map((i) => BASE + i);
/** A smaller space, so that three-dimensional elements meet packets often enough. */
const addr4 = fc.integer({ min: 0, max: 3 }).map((i) => BASE + i);
const l4 = fc.oneof(
  fc.record({ proto: fc.constantFrom(IPPROTO_TCP, IPPROTO_UDP), port: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ proto: fc.constant(IPPROTO_ICMP), port: fc.constantFrom(0x0000, 0x0300, 0x0301, 0x0800) }),
);
const cidr = fc.constantFrom(24, 28, 29, 30, 31, 32);
const iface = fc.constantFrom("eth0", "eth1");

interface L4 {
  proto: number;
  port: number;
}

function l4Text(p: L4): string {
  if (p.proto === IPPROTO_ICMP) return `icmp:${p.port >> 8}/${p.port & 0xff}`;
  return `${PROTO_NAMES[p.proto]}:${p.port}`;
}

function netText(n: number, c: number): string {
  return c === 32 ? fmt(n) : `${fmt((n & maskOf(c)) >>> 0)}/${c}`;
}

/** The port dimension of a packet (ip_set_get_ip4_port). */
function pktPort(p: Packet, src: boolean): number {
  if (p.proto === IPPROTO_ICMP) return (p.icmpType << 8) | p.icmpCode;
  return src ? p.sport : p.dport;
}

const pkt = fc
  .record({
    src: fc.oneof(addr, addr4),
    dst: fc.oneof(addr, addr4),
    proto: fc.constantFrom(IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP),
    sport: fc.integer({ min: 0, max: 3 }),
    dport: fc.integer({ min: 0, max: 3 }),
    icmp: fc.constantFrom(0x0000, 0x0300, 0x0301, 0x0800),
  })
  .map((r) => packet({ src: r.src, dst: r.dst, proto: r.proto, sport: r.sport, dport: r.dport, icmpType: r.icmp >> 8, icmpCode: r.icmp & 0xff }));

type Ref<E> = (elems: Map<string, { e: E; nomatch: boolean }>, p: Packet, ifname: string) => number;

interface Case<E> {
  type: string;
  create: string;
  elem: fc.Arbitrary<E>;
  text: (e: E) => string;
  key: (e: E) => string;
  nomatch: boolean;
  dirs: boolean[];
  ref: Ref<E>;
}

/** Most specific matching net decides: 1, or -1 for a nomatch element, 0 for none. */
function best<E>(elems: Map<string, { e: E; nomatch: boolean }>, hit: (e: E) => number | null): number {
  let top = -1;
  let res = 0;
  for (const { e, nomatch } of elems.values()) {
    const c = hit(e);
    if (c !== null && c > top) {
      top = c;
      res = nomatch ? -1 : 1;
    }
  }
  return res;
}

type IpPort = { a: number } & L4;
type IpPortIp = IpPort & { b: number };
type IpPortNet = IpPort & { n: number; c: number };
type Net = { n: number; c: number };
type NetPort = Net & L4;
type NetIface = Net & { i: string };

/** Erases a case's element type so that cases of all types sit in one list. */
function kase<E>(c: Case<E>): Case<unknown> {
  return c as unknown as Case<unknown>;
}

const cases: Case<unknown>[] = [
  kase({
    type: "hash:ip",
    create: "hash:ip",
    elem: addr,
    text: (e) => fmt(e as number),
    key: (e) => String(e),
    nomatch: false,
    dirs: [true],
    ref: (m, p) => (m.has(String(p.saddr)) ? 1 : 0),
  } as Case<number>),
  kase({
    type: "hash:ip,port",
    create: "hash:ip,port",
    elem: fc.record({ a: addr }).chain((r) => l4.map((x) => ({ ...r, ...x }))),
    text: (e) => `${fmt(e.a)},${l4Text(e)}`,
    key: (e) => `${e.a}/${e.proto}/${e.port}`,
    nomatch: false,
    dirs: [true, false],
    ref: (m, p) => (m.has(`${p.saddr}/${p.proto}/${pktPort(p, false)}`) ? 1 : 0),
  } as Case<IpPort>),
  kase({
    type: "hash:ip,port,ip",
    create: "hash:ip,port,ip",
    elem: fc.record({ a: addr4, b: addr4 }).chain((r) => l4.map((x) => ({ ...r, ...x }))),
    text: (e) => `${fmt(e.a)},${l4Text(e)},${fmt(e.b)}`,
    key: (e) => `${e.a}/${e.proto}/${e.port}/${e.b}`,
    nomatch: false,
    dirs: [false, false, true],
    ref: (m, p) => (m.has(`${p.daddr}/${p.proto}/${pktPort(p, false)}/${p.saddr}`) ? 1 : 0),
  } as Case<IpPortIp>),
  kase({
    type: "hash:ip,port,net",
    create: "hash:ip,port,net",
    elem: fc.record({ a: addr4, n: addr, c: cidr }).chain((r) => l4.map((x) => ({ ...r, ...x }))),
    text: (e) => `${fmt(e.a)},${l4Text(e)},${netText(e.n, e.c)}`,
    key: (e) => `${e.a}/${e.proto}/${e.port}/${(e.n & maskOf(e.c)) >>> 0}/${e.c}`,
    nomatch: true,
    dirs: [true, false, false],
    ref: (m, p) => best(m, (e) => (e.a === p.saddr && e.proto === p.proto && e.port === pktPort(p, false) && inNet(p.daddr, e.n, e.c) ? e.c : null)),
  } as Case<IpPortNet>),
  kase({
    type: "hash:net",
    create: "hash:net",
    elem: fc.record({ n: addr, c: cidr }),
    text: (e) => netText(e.n, e.c),
    key: (e) => `${(e.n & maskOf(e.c)) >>> 0}/${e.c}`,
    nomatch: true,
    dirs: [false],
    ref: (m, p) => best(m, (e) => (inNet(p.daddr, e.n, e.c) ? e.c : null)),
  } as Case<Net>),
  kase({
    type: "hash:net,port",
    create: "hash:net,port",
    elem: fc.record({ n: addr, c: cidr }).chain((r) => l4.map((x) => ({ ...r, ...x }))),
    text: (e) => `${netText(e.n, e.c)},${l4Text(e)}`,
    key: (e) => `${(e.n & maskOf(e.c)) >>> 0}/${e.c}/${e.proto}/${e.port}`,
    nomatch: true,
    dirs: [true, true],
    ref: (m, p) => best(m, (e) => (e.proto === p.proto && e.port === pktPort(p, true) && inNet(p.saddr, e.n, e.c) ? e.c : null)),
  } as Case<NetPort>),
  kase({
    type: "hash:net,iface",
    create: "hash:net,iface",
    elem: fc.record({ n: addr, c: cidr, i: iface }),
    text: (e) => `${netText(e.n, e.c)},${e.i}`,
    key: (e) => `${(e.n & maskOf(e.c)) >>> 0}/${e.c}/${e.i}`,
    nomatch: true,
    dirs: [true, true],
    // The most specific net holding the address decides, even for another interface
    // (IP_SET_HASH_WITH_MULTI stops the search there).
    ref: (m, p, ifname) => {
      const cidrs = [...new Set([...m.values()].map((x) => x.e.c))].sort((a, b) => b - a);
      for (const c of cidrs) {
        const here = [...m.values()].filter((x) => x.e.c === c && inNet(p.saddr, x.e.n, c));
        if (!here.length) continue;
        const hit = here.find((x) => x.e.i === ifname);
        return hit ? (hit.nomatch ? -1 : 1) : 0;
      }
      return 0;
    },
  } as Case<NetIface>),
  kase({
    type: "bitmap:ip",
    create: "bitmap:ip range 10.0.0.0/28",
    elem: addr,
    text: (e) => fmt(e as number),
    key: (e) => String(e),
    nomatch: false,
    dirs: [false],
    ref: (m, p) => (m.has(String(p.daddr)) ? 1 : 0),
  } as Case<number>),
  kase({
    type: "bitmap:port",
    create: "bitmap:port range 0-3",
    elem: fc.integer({ min: 0, max: 3 }),
    text: (e) => String(e),
    key: (e) => String(e),
    nomatch: false,
    dirs: [false],
    ref: (m, p) => (p.proto !== IPPROTO_ICMP && m.has(String(p.dport)) ? 1 : 0),
  } as Case<number>),
];

describe("membership-equals-reference", () => {
  for (const c of cases) {
    it(c.type, () => {
      const seen = new Set<number>();
      const entry = fc.record({ e: c.elem, nomatch: c.nomatch ? fc.boolean() : fc.constant(false) });
      fc.assert(
        fc.property(fc.array(entry, { maxLength: 24 }), fc.array(fc.tuple(pkt, iface), { minLength: 1, maxLength: 24 }), (entries, pkts) => {
          const host = ipsetHost();
          sh(host, `ipset create s ${c.create}`);
          const ref = new Map<string, { e: unknown; nomatch: boolean }>();
          for (const { e, nomatch } of entries) {
            sh(host, `ipset -exist add s ${c.text(e)}${nomatch ? " nomatch" : ""}`);
            ref.set(c.key(e), { e, nomatch });
          }
          const h = lookupSet(ipsetOf.get(host)!, "host", "s")!;
          for (const [p, ifname] of pkts) {
            const got = h.test(p, c.dirs, ifname, host.now, true);
            expect(got).toBe(c.ref(ref, p, ifname));
            seen.add(got);
          }
        }),
        { seed: 4242, numRuns: 60 },
      );
      // the runs did exercise hits (and nomatch hits), not only misses
      expect(seen.has(1)).toBe(true);
      expect(seen.has(-1)).toBe(c.nomatch);
    });
  }

  it("list:set: a member's nomatch is no match, the next member may still match", () => {
    fc.assert(
      fc.property(fc.array(addr, { maxLength: 6 }), fc.array(fc.record({ n: addr, c: cidr, nomatch: fc.boolean() }), { maxLength: 8 }), fc.array(pkt, { minLength: 1, maxLength: 16 }), (ips, nets, pkts) => {
        const host = ipsetHost();
        sh(host, "ipset create N hash:net", "ipset create I hash:ip", "ipset create L list:set", "ipset add L N", "ipset add L I");
        const ref = new Map<string, { e: Net; nomatch: boolean }>();
        for (const n of nets) {
          sh(host, `ipset -exist add N ${netText(n.n, n.c)}${n.nomatch ? " nomatch" : ""}`);
          ref.set(`${(n.n & maskOf(n.c)) >>> 0}/${n.c}`, { e: n, nomatch: n.nomatch });
        }
        for (const a of ips) sh(host, `ipset -exist add I ${fmt(a)}`);
        const h = lookupSet(ipsetOf.get(host)!, "host", "L")!;
        for (const p of pkts) {
          const want = best(ref, (e) => (inNet(p.saddr, e.n, e.c) ? e.c : null)) === 1 || ips.includes(p.saddr) ? 1 : 0;
          expect(h.test(p, [true], null, host.now, true)).toBe(want);
        }
      }),
      { seed: 4242, numRuns: 60 },
    );
  });
});
