// The handle netfilter uses for -m set and -j SET: dimensions taken from source or
// destination, counters, --return-nomatch, SET's timeouts on the virtual clock, and the
// index that survives swap and rename; references and what they forbid.
import { describe, expect, it } from "vitest";
import { lookupSet, refSet } from "../../src/ipset/api.ts";
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from "../../src/wire/packet.ts";
import { ip, ipsetHost, ipsetOf, packet, sh } from "./world.ts";

const P = packet({ src: ip("10.0.0.11"), dst: ip("10.0.0.11"), proto: IPPROTO_TCP, sport: 40000, dport: 8080, len: 60 });

describe("IpSetHandle.test (xt_set match)", () => {
  it("takes each dimension from the source or destination the flags name", () => {
    const h = ipsetHost();
    sh(h, "ipset create KUBE-LOOP-BACK hash:ip,port,ip", "ipset add KUBE-LOOP-BACK 10.0.0.11,tcp:8080,10.0.0.21");
    const s = lookupSet(ipsetOf.get(h)!, "host", "KUBE-LOOP-BACK")!;
    expect(s.name).toBe("KUBE-LOOP-BACK");
    expect(s.dimensions).toBe(3);
    const p = packet({ src: ip("10.0.0.21"), dst: ip("10.0.0.11"), dport: 8080 });
    expect(s.test(p, [false, false, true], null, h.now, true)).toBe(1);
    expect(s.test(p, [true, false, false], null, h.now, true)).toBe(0);
    // fewer flags than dimensions: ip_set_test() refuses
    expect(s.test(p, [false, false], null, h.now, true)).toBe(0);
    // the port dimension carries the protocol
    expect(s.test(packet({ src: ip("10.0.0.21"), dst: ip("10.0.0.11"), proto: IPPROTO_UDP, dport: 8080 }), [false, false, true], null, h.now, true)).toBe(0);
  });

  it("ICMP type/code is the port of an icmp: element", () => {
    const h = ipsetHost();
    sh(h, "ipset create s hash:ip,port", "ipset add s 10.0.0.1,icmp:echo-request");
    const s = lookupSet(ipsetOf.get(h)!, "host", "s")!;
    const ping = packet({ src: ip("10.0.0.1"), dst: ip("10.0.0.2"), proto: IPPROTO_ICMP, icmpType: 8 });
    expect(s.test(ping, [true, true], null, h.now, true)).toBe(1);
    ping.icmpType = 0;
    expect(s.test(ping, [true, true], null, h.now, true)).toBe(0);
  });

  it("a nomatch element: -1, or with --return-nomatch the kernel's inversion", () => {
    const h = ipsetHost();
    sh(h, "ipset create s hash:net", "ipset add s 10.0.0.0/24", "ipset add s 10.0.0.5 nomatch");
    const s = lookupSet(ipsetOf.get(h)!, "host", "s")!;
    const at = (a: string) => packet({ src: ip(a), dst: ip("1.1.1.1") });
    expect(s.test(at("10.0.0.5"), [true], null, h.now, true)).toBe(-1);
    expect(s.test(at("10.0.0.6"), [true], null, h.now, true)).toBe(1);
    expect(s.test(at("10.0.0.5"), [true], null, h.now, true, true)).toBe(1);
    expect(s.test(at("10.0.0.6"), [true], null, h.now, true, true)).toBe(0);
    expect(s.test(at("10.0.1.6"), [true], null, h.now, true, true)).toBe(0);
  });

  it("counts matches in the element's counters unless told not to", () => {
    const h = ipsetHost();
    sh(h, "ipset create s hash:ip counters", "ipset add s 10.0.0.11");
    const s = lookupSet(ipsetOf.get(h)!, "host", "s")!;
    s.test(P, [true], null, h.now, true);
    s.test(P, [true], null, h.now, true);
    s.test(P, [true], null, h.now, false);
    expect(sh(h, "ipset save s")).toContain("add s 10.0.0.11 packets 2 bytes 120");
  });

  it("hash:net,iface compares the interface name given", () => {
    const h = ipsetHost();
    sh(h, "ipset create s hash:net,iface", "ipset add s 10.0.0.0/24,veth0", "ipset add s 10.0.0.0/24,eth wildcard");
    const s = lookupSet(ipsetOf.get(h)!, "host", "s")!;
    expect(s.test(P, [true, true], "veth0", h.now, true)).toBe(1);
    expect(s.test(P, [true, true], "eth7", h.now, true)).toBe(1);
    expect(s.test(P, [true, true], "lo", h.now, true)).toBe(0);
    expect(s.test(P, [true, true], null, h.now, true)).toBe(0);
  });

  it("bitmap:port sees TCP and UDP ports only", () => {
    const h = ipsetHost();
    sh(h, "ipset create s bitmap:port range 0-1024", "ipset add s 53");
    const s = lookupSet(ipsetOf.get(h)!, "host", "s")!;
    expect(s.test(packet({ src: 1, dst: 2, proto: IPPROTO_UDP, dport: 53 }), [false], null, h.now, true)).toBe(1);
    expect(s.test(packet({ src: 1, dst: 2, proto: IPPROTO_ICMP, icmpType: 0, icmpCode: 53 }), [false], null, h.now, true)).toBe(0);
  });
});

describe("IpSetHandle.add / del (SET target)", () => {
  it("adds with the packet's fields, a timeout on the virtual clock, and --exist", () => {
    const h = ipsetHost();
    sh(h, "ipset create s hash:ip timeout 100 counters");
    const s = lookupSet(ipsetOf.get(h)!, "host", "s")!;
    s.add(P, [true], null, h.now, 5, false);
    expect(sh(h, "ipset save s")).toContain("add s 10.0.0.11 timeout 5 packets 1 bytes 60");
    h.advance(3000);
    s.add(P, [true], null, h.now, 5, false);
    expect(sh(h, "ipset save s")).toContain("timeout 2 ");
    s.add(P, [true], null, h.now, 5, true);
    expect(sh(h, "ipset save s")).toContain("timeout 5 ");
    h.advance(6000);
    expect(s.test(P, [true], null, h.now, true)).toBe(0);
    s.add(P, [true], null, h.now, null, false);
    expect(sh(h, "ipset save s")).toContain("timeout 100 ");
    s.del(P, [true], null, h.now);
    expect(s.test(P, [true], null, h.now, true)).toBe(0);
  });

  it("a hash:net add takes the most specific prefix the set holds", () => {
    const h = ipsetHost();
    sh(h, "ipset create s hash:net", "ipset add s 192.168.0.0/16", "ipset add s 172.16.0.0/24");
    lookupSet(ipsetOf.get(h)!, "host", "s")!.add(packet({ src: ip("10.1.2.3"), dst: 0 }), [true], null, h.now, null, false);
    expect(sh(h, "ipset -s save s")).toContain("add s 10.1.2.0/24\n");
  });

  it("list:set adds to the first member that takes the element", () => {
    const h = ipsetHost();
    sh(h, "ipset create b bitmap:ip range 192.168.0.0/24", "ipset create i hash:ip", "ipset create L list:set", "ipset add L b", "ipset add L i");
    const l = lookupSet(ipsetOf.get(h)!, "host", "L")!;
    l.add(packet({ src: ip("192.168.0.7"), dst: 0 }), [true], null, h.now, null, false);
    l.add(packet({ src: ip("10.9.9.9"), dst: 0 }), [true], null, h.now, null, false);
    expect(sh(h, "ipset save b", "ipset save i")).toBe(
      "create b bitmap:ip range 192.168.0.0-192.168.0.255\nadd b 192.168.0.7\n" + sh(h, "ipset save i").split("\n")[0] + "\nadd i 10.9.9.9\n",
    );
  });
});

describe("handles, swap, rename and references", () => {
  it("a handle keeps its index: swap shows the other set's members under the same name", () => {
    const h = ipsetHost();
    sh(h, "ipset create a hash:ip", "ipset create b hash:ip", "ipset add b 10.0.0.11");
    const a = lookupSet(ipsetOf.get(h)!, "host", "a")!;
    expect(a.test(P, [true], null, h.now, true)).toBe(0);
    sh(h, "ipset swap a b");
    expect(a.name).toBe("a");
    expect(a.test(P, [true], null, h.now, true)).toBe(1);
    sh(h, "ipset rename a c");
    expect(a.name).toBe("c");
    expect(lookupSet(ipsetOf.get(h)!, "host", "a")).toBeNull();
    expect(lookupSet(ipsetOf.get(h)!, "nosuchns", "c")).toBeNull();
  });

  it("references show in the listing and forbid destroy and rename", () => {
    const h = ipsetHost();
    sh(h, "ipset create s hash:ip");
    refSet(ipsetOf.get(h)!, "host", "s", 1);
    expect(sh(h, "ipset list -t s")).toContain("References: 1\n");
    expect(() => sh(h, "ipset destroy s")).toThrow("ipset v7.17: Set cannot be destroyed: it is in use by a kernel component");
    expect(() => sh(h, "ipset rename s t")).toThrow("ipset v7.17: Set cannot be renamed: it is in use by another system");
    expect(() => sh(h, "ipset destroy")).toThrow("it is in use by a kernel component");
    sh(h, "ipset swap s s");
    refSet(ipsetOf.get(h)!, "host", "s", -1);
    sh(h, "ipset destroy s");
    expect(sh(h, "ipset list")).toBe("");
  });
});
