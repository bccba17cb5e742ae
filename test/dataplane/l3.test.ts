// ARP, routing and ICMP: resolution and its failure, longest prefix, martians, forwarding,
// rp_filter, arp_ignore, the ICMP rate limit, and what sockets make of each.
import { describe, expect, it } from "vitest";
import { curl, run, twoPodHost } from "../helpers.ts";
import { parseIPv4 } from "../../src/wire/ipv4.ts";
import { blankPacket, ETH_P_IP, IPPROTO_UDP } from "../../src/wire/packet.ts";
import type { Host } from "../../src/host.ts";

/** A UDP datagram with any source, sent from a pod's veth to the host's bridge MAC. */
function inject(h: Host, ns: string, dev: string, saddr: string, daddr: string): void {
  const link = h.dp.view.netns.get(ns)!.byName.get(dev)!;
  const p = blankPacket();
  p.ethType = ETH_P_IP;
  p.ethSrc = link.cfg.mac;
  p.ethDst = h.dp.view.netns.get("host")!.byName.get("bridge_home")!.cfg.mac;
  p.proto = IPPROTO_UDP;
  p.saddr = parseIPv4(saddr)!;
  p.daddr = parseIPv4(daddr)!;
  p.sport = 1000;
  p.dport = 2000;
  h.dp.sim.enqueue(link.peer!.id, p);
  h.dp.run(h.now, () => false);
}

describe("neighbours", () => {
  it("resolve with ARP on the wire, REACHABLE, then STALE after reachable_time", () => {
    const h = twoPodHost();
    curl(h, "host", "10.0.0.11:8080");
    expect(h.exec("ip neigh show")[0]!.stdout).toMatch(/^10\.0\.0\.11 dev bridge_home lladdr \S+ REACHABLE \n$/);
    h.advance(31_000);
    expect(h.exec("ip neigh show")[0]!.stdout).toMatch(/STALE/);
  });
  it("fail after three probes a second apart; the sender learns No route to host", () => {
    const h = twoPodHost();
    const r = curl(h, "host", "10.0.0.99:80", 5000);
    expect(r.outcome).toBe("unreachable");
    expect(r.error).toBe("No route to host");
    expect(h.now).toBeGreaterThanOrEqual(3000);
    expect(h.exec("ip neigh show")[0]!.stdout).toBe("10.0.0.99 dev bridge_home FAILED \n");
  });
  it("arp_ignore=1 answers only for addresses on the receiving interface", () => {
    const h = twoPodHost();
    run(h, "ip netns exec netns_dustin ip addr add 10.0.0.77/32 dev lo\nip route add 10.0.0.77/32 dev bridge_home");
    expect(curl(h, "host", "10.0.0.77:8080").outcome).toBe("answered");
    const g = twoPodHost();
    run(g, "ip netns exec netns_dustin ip addr add 10.0.0.77/32 dev lo\nip route add 10.0.0.77/32 dev bridge_home\nip netns exec netns_dustin sysctl -w net.ipv4.conf.all.arp_ignore=1");
    expect(curl(g, "host", "10.0.0.77:8080").outcome).toBe("timeout");
  });
});

describe("routing", () => {
  it("takes the longest prefix and says so in ip route get", () => {
    const h = twoPodHost();
    run(h, "ip route add 10.9.0.0/16 via 10.0.0.11\nip route add 10.9.9.0/24 via 10.0.0.21");
    expect(h.exec("ip route get 10.9.9.9")[0]!.stdout).toContain("via 10.0.0.21");
    expect(h.exec("ip route get 10.9.8.8")[0]!.stdout).toContain("via 10.0.0.11");
  });
  it("drops a packet whose source is one of our own addresses (martian)", () => {
    const h = twoPodHost({ trace: true });
    curl(h, "netns_dustin", "10.0.0.1:9"); // learn the MACs both ways
    h.takeTrace();
    inject(h, "netns_dustin", "veth_ns_dustin", "10.0.0.1", "10.0.0.1");
    expect(h.takeTrace().some((e) => e.step === "drop" && e.detail.includes("martian source 10.0.0.1"))).toBe(true);
  });
  it("forwards only with forwarding on, decrements the TTL, and answers no-route with ICMP", () => {
    const h = twoPodHost();
    run(h, "ip netns exec netns_dustin ip addr add 10.1.0.1/32 dev lo\nip route add 10.1.0.1/32 via 10.0.0.11");
    h.exec("ip netns exec netns_dustin nc -l 9000 &");
    expect(curl(h, "netns_leah", "10.1.0.1:9000").outcome).toBe("answered");
    h.exec("sysctl -w net.ipv4.ip_forward=0");
    expect(curl(h, "netns_leah", "10.1.0.1:9000").outcome).toBe("timeout");
    h.exec("sysctl -w net.ipv4.ip_forward=1");
    expect(curl(h, "netns_leah", "10.2.0.1:9000").outcome).toBe("unreachable");
  });
  it("rp_filter=1 drops a packet whose route back leaves through another device", () => {
    const h = twoPodHost({ trace: true });
    run(h, "ip link add dev dummy0 type dummy\nip link set dummy0 up\nip route add 10.5.0.0/16 dev dummy0");
    curl(h, "netns_dustin", "10.0.0.1:9");
    h.takeTrace();
    inject(h, "netns_dustin", "veth_ns_dustin", "10.5.0.1", "10.0.0.1");
    expect(h.takeTrace().some((e) => e.step === "drop" && e.detail.includes("rp_filter"))).toBe(false);
    h.exec("sysctl -w net.ipv4.conf.all.rp_filter=1");
    inject(h, "netns_dustin", "veth_ns_dustin", "10.5.0.1", "10.0.0.1");
    expect(h.takeTrace().some((e) => e.step === "drop" && e.detail.includes("rp_filter=1"))).toBe(true);
  });
});

describe("sockets", () => {
  it("a closed TCP port answers with a RST (refused), a closed UDP port with ICMP port unreachable", () => {
    const h = twoPodHost();
    expect(curl(h, "host", "10.0.0.11:9999").outcome).toBe("refused");
    const r = h.probe("host", { kind: "udp", daddr: parseIPv4("10.0.0.11")!, dport: 5353, timeoutMs: 1000, count: 1 });
    expect(r.outcome).toBe("refused");
  });
  it("UDP ignores ICMP net unreachable (a soft error): the probe times out", () => {
    const h = twoPodHost();
    const r = h.probe("netns_dustin", { kind: "udp", daddr: parseIPv4("10.7.0.1")!, dport: 53, timeoutMs: 1000, count: 1 });
    expect(r.outcome).toBe("timeout");
  });
  it("a UDP listener answers with its namespace and the client address it saw", () => {
    const h = twoPodHost();
    h.exec("ip netns exec netns_leah nc -lu 5000 &");
    const r = h.probe("netns_dustin", { kind: "udp", daddr: parseIPv4("10.0.0.21")!, dport: 5000, timeoutMs: 1000, count: 1 });
    expect([r.outcome, r.server, r.clientIp]).toEqual(["answered", "netns_leah", parseIPv4("10.0.0.11")]);
  });
});
