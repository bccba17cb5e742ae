// Conntrack and NAT: masquerade behind a router, port clashes, reply un-NAT, expiry.
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host.ts";
import { hostWithLayers, type Layers } from "../../src/layers.ts";
import { curl, run } from "../helpers.ts";

// Two clients (a, b) behind router r, which masquerades them towards server s.
const ROUTED = `
ip netns add r
ip netns add a
ip netns add b
ip netns add s
ip link add ra type veth peer name ar
ip link set ra netns r
ip link set ar netns a
ip link add rb type veth peer name br
ip link set rb netns r
ip link set dev br netns b
ip link add rs type veth peer name sr
ip link set rs netns r
ip link set sr netns s
ip netns exec r sysctl -w net.ipv4.ip_forward=1
ip netns exec r ip addr add 10.0.1.1/24 dev ra
ip netns exec r ip addr add 10.0.2.1/24 dev rb
ip netns exec r ip addr add 192.168.0.1/24 dev rs
ip netns exec r ip link set ra up
ip netns exec r ip link set rb up
ip netns exec r ip link set rs up
ip netns exec a ip addr add 10.0.1.2/24 dev ar
ip netns exec a ip link set ar up
ip netns exec a ip route add default via 10.0.1.1
ip netns exec b ip addr add 10.0.2.2/24 dev br
ip netns exec b ip link set dev br up
ip netns exec b ip route add default via 10.0.2.1
ip netns exec s ip addr add 192.168.0.2/24 dev sr
ip netns exec s ip link set sr up
ip netns exec s nc -l 80 &
ip netns exec r iptables -t nat -A POSTROUTING -o rs -j MASQUERADE
`;

function world(): { h: Host; layers: Layers } {
  const { host: h, layers } = hostWithLayers();
  run(h, ROUTED);
  return { h, layers };
}

describe("MASQUERADE behind a router", () => {
  it("rewrites the source to the out device's address and un-NATs the reply", () => {
    const { h } = world();
    const r = curl(h, "a", "192.168.0.2:80");
    expect(r.outcome).toBe("answered");
    expect(r.clientIp).toBe(0xc0a80001); // the server saw 192.168.0.1
  });
  it("keeps the source port unless it clashes, then picks another (nf_nat_l4proto_unique_tuple)", () => {
    const { h, layers } = world();
    // Both clients bind source port 40000 (curl --local-port 40000).
    expect(h.exec("ip netns exec a curl --local-port 40000 192.168.0.2:80")[0]!.probe!.result.outcome).toBe("answered");
    expect(h.exec("ip netns exec b curl --local-port 40000 192.168.0.2:80")[0]!.probe!.result.outcome).toBe("answered");
    const conns = layers.netfilter.connections("r");
    expect(conns.length).toBe(2);
    expect(conns[0]!.tuple[0].sport).toBe(40000);
    expect(conns[1]!.tuple[0].sport).toBe(40000);
    expect(conns[0]!.tuple[1].dport).toBe(40000);
    expect(conns[1]!.tuple[1].dport).not.toBe(40000);
    // No two live connections share a reply tuple.
    const replies = conns.map((c) => JSON.stringify(c.tuple[1]));
    expect(new Set(replies).size).toBe(replies.length);
  });
  it("lists connections in conntrack's format, and they expire on the virtual clock", () => {
    const { h } = world();
    curl(h, "a", "192.168.0.2:80");
    const out = h.exec("ip netns exec r conntrack -L")[0]!.stdout;
    expect(out).toMatch(
      /^tcp {6}6 120 TIME_WAIT src=10\.0\.1\.2 dst=192\.168\.0\.2 sport=(\d+) dport=80 src=192\.168\.0\.2 dst=192\.168\.0\.1 sport=80 dport=\1 \[ASSURED\] mark=0 use=1\n$/,
    );
    h.advance(121_000);
    expect(h.exec("ip netns exec r conntrack -L")[0]!.stdout).toBe("");
  });
  it("consults the nat table only for a connection's first packet", () => {
    const { h } = world();
    curl(h, "a", "192.168.0.2:80");
    const out = h.exec("ip netns exec r iptables -t nat -nvL POSTROUTING")[0]!.stdout;
    // One connection: one packet through the MASQUERADE rule, whatever the exchange's length.
    expect(out.split("\n")[2]).toMatch(/^\s+1\s+\d+ MASQUERADE/);
  });
  it("REJECT answers with the ICMP error or reset it was asked for", () => {
    const { h } = world();
    h.exec("ip netns exec r iptables -A FORWARD -p tcp --dport 81 -j REJECT --reject-with tcp-reset");
    h.exec("ip netns exec r iptables -A FORWARD -p tcp --dport 82 -j REJECT");
    h.exec("ip netns exec r iptables -A FORWARD -p tcp --dport 83 -j DROP");
    expect(curl(h, "a", "192.168.0.2:81").outcome).toBe("refused");
    expect(curl(h, "a", "192.168.0.2:82").outcome).toBe("refused");
    expect(curl(h, "a", "192.168.0.2:83").outcome).toBe("timeout");
  });
});

describe("NAT clashes (nf_nat_core.c, __nf_conntrack_confirm)", () => {
  it("a DNAT keeps a taken reply tuple; the null binding in POSTROUTING moves the source port", () => {
    const { h, layers } = world();
    h.exec("ip netns exec r iptables -t nat -F POSTROUTING");
    h.exec("ip netns exec r iptables -t nat -A PREROUTING -d 10.9.9.9 -p tcp -j DNAT --to-destination 192.168.0.2:80");
    h.exec("ip netns exec s ip route add default via 192.168.0.1");
    expect(h.exec("ip netns exec a curl --local-port 40000 192.168.0.2:80")[0]!.probe!.result.outcome).toBe("answered");
    expect(h.exec("ip netns exec a curl --local-port 40000 10.9.9.9:80")[0]!.probe!.result.outcome).toBe("answered");
    const conns = layers.netfilter.connections("r");
    expect(conns.length).toBe(2);
    expect(conns[1]!.tuple[1].dport).not.toBe(40000);
  });
  it("an SNAT to one taken port is dropped at confirm time, not at the SNAT", () => {
    const { h, layers } = world();
    h.exec("ip netns exec r iptables -t nat -F POSTROUTING");
    h.exec("ip netns exec r iptables -t nat -A POSTROUTING -s 10.0.2.2 -p tcp -j SNAT --to-source 10.0.1.2:40000");
    h.exec("ip netns exec s ip route add default via 192.168.0.1");
    expect(h.exec("ip netns exec a curl --local-port 40000 192.168.0.2:80")[0]!.probe!.result.outcome).toBe("answered");
    // b's reply tuple would be a's, whose entry was never SNATed: nothing may evict it.
    expect(curl(h, "b", "192.168.0.2:80").outcome).toBe("timeout");
    expect(layers.netfilter.connections("r").length).toBe(1);
  });
  it("Linux 6.4+: a SYN evicts a TIME_WAIT entry that holds the last free port (nf_nat_used_tuple_harder)", () => {
    const { h, layers } = world();
    h.exec("ip netns exec r iptables -t nat -I POSTROUTING -p tcp -j SNAT --to-source 192.168.0.1:50000-50001");
    // Both ports end up held by TIME_WAIT entries; every SYN still gets one.
    for (let i = 0; i < 4; i++) expect(curl(h, i % 2 ? "b" : "a", "192.168.0.2:80").outcome).toBe("answered");
    const conns = layers.netfilter.connections("r");
    expect(conns.length).toBeLessThanOrEqual(2);
    const ports = conns.map((c) => c.tuple[1].dport);
    expect(new Set(ports).size).toBe(ports.length);
    for (const p of ports) expect([50000, 50001]).toContain(p);
  });
});
